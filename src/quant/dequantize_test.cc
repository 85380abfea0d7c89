#include "quant/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "base/fp16.h"
#include "quant/blocks.h"

namespace cmdai {
namespace {

// Scale bytes with known decoded values (worked out by hand from the 6-bit packing):
// scales {1, 2, 3, 4, 49, 3, 5, 7}, mins {5, 6, 7, 8, 18, 4, 6, 8}.
constexpr uint8_t kPackedScales[12] = {0xC1, 2, 3, 4, 0x45, 6, 7, 8, 0x21, 0x43, 0x65, 0x87};
constexpr int kScales[8] = {1, 2, 3, 4, 49, 3, 5, 7};
constexpr int kMins[8] = {5, 6, 7, 8, 18, 4, 6, 8};

TEST(KScaleMin, UnpacksAllEightSixBitPairs) {
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    k_scale_min(j, kPackedScales, &sc, &m);
    EXPECT_EQ(sc, kScales[j]) << j;
    EXPECT_EQ(m, kMins[j]) << j;
  }
}

TEST(Q4_0, DequantizesHandBuiltBlock) {
  BlockQ4_0 b{};
  b.d = f32_to_fp16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(TensorType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
}

TEST(Q5_0, DequantizesHandBuiltBlockWithHighBits) {
  BlockQ5_0 b{};
  b.d = f32_to_fp16(0.25f);
  const uint32_t qh = 0xA5C3F00Fu;  // element j takes bit j
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(TensorType::kQ5_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) {
    const int nibble = j < 16 ? j : 15 - (j - 16);
    const int q = nibble + (((qh >> j) & 1) ? 16 : 0) - 16;
    EXPECT_EQ(y[j], q * 0.25f) << j;
  }
}

TEST(Q8_0, DequantizesHandBuiltBlock) {
  BlockQ8_0 b{};
  b.d = f32_to_fp16(2.0f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  float y[32];
  dequantize_row(TensorType::kQ8_0, &b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], (j * 8 - 128) * 2.0f) << j;
}

// Element e of a Q4_K/Q5_K super-block: 64-element chunk c = e/64 uses qs[32c..32c+32), low
// nibbles for its first 32 elements (sub-block 2c), high nibbles for the next (2c+1).
int k_nibble(const uint8_t* qs, int e) {
  const int c = e / 64, r = e % 64;
  const uint8_t byte = qs[32 * c + r % 32];
  return r < 32 ? (byte & 0xF) : (byte >> 4);
}

TEST(Q4_K, DequantizesHandBuiltBlock) {
  BlockQ4_K b{};
  b.d = f32_to_fp16(1.0f);
  b.dmin = f32_to_fp16(0.5f);
  std::memcpy(b.scales, kPackedScales, 12);
  for (int l = 0; l < 128; ++l) b.qs[l] = static_cast<uint8_t>((l % 16) | (((l + 3) % 16) << 4));
  float y[256];
  dequantize_row(TensorType::kQ4_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32;
    EXPECT_EQ(y[e], 1.0f * kScales[sub] * k_nibble(b.qs, e) - 0.5f * kMins[sub]) << e;
  }
}

TEST(Q5_K, DequantizesHandBuiltBlockWithHighBits) {
  BlockQ5_K b{};
  b.d = f32_to_fp16(0.25f);
  b.dmin = f32_to_fp16(2.0f);
  std::memcpy(b.scales, kPackedScales, 12);
  for (int l = 0; l < 128; ++l) b.qs[l] = static_cast<uint8_t>((l * 5 % 16) | ((l % 16) << 4));
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>(l * 37 + 11);
  float y[256];
  dequantize_row(TensorType::kQ5_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int sub = e / 32;  // sub-block j takes bit j of qh[e % 32]
    const int q = k_nibble(b.qs, e) + ((b.qh[e % 32] >> sub) & 1) * 16;
    EXPECT_EQ(y[e], 0.25f * kScales[sub] * q - 2.0f * kMins[sub]) << e;
  }
}

TEST(Q6_K, DequantizesHandBuiltBlock) {
  BlockQ6_K b{};
  b.d = f32_to_fp16(0.5f);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s * 9 - 70);
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i * 13 + 1);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(i * 29 + 7);
  float y[256];
  dequantize_row(TensorType::kQ6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    // Half h of 128 elements; quarter k of 32 in it reads ql[64h + 32*(k&1) + l], low nibble for
    // k < 2, and bits 2k..2k+1 of qh[32h + l].
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t lb = b.ql[64 * h + 32 * (k & 1) + l];
    const int low = k < 2 ? (lb & 0xF) : (lb >> 4);
    const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
    const int q = (low | (high << 4)) - 32;
    EXPECT_EQ(y[e], 0.5f * b.scales[e / 16] * q) << e;
  }
}

TEST(Q8_K, DequantizesAsScaleTimesQuant) {
  BlockQ8_K b{};
  b.d = -0.125f;
  for (int j = 0; j < 256; ++j) b.qs[j] = static_cast<int8_t>(j - 128);
  std::vector<float> y(256);
  dequantize_row(TensorType::kQ8_K, &b, y.data(), 256);
  for (int j = 0; j < 256; ++j) EXPECT_EQ(y[j], -0.125f * (j - 128));
}

TEST(PlainFloats, DecodeF32F16AndBF16) {
  const float f[4] = {1.5f, -2.0f, 0.0f, 65504.0f};
  const uint16_t h[4] = {0x3E00, 0xC000, 0x0000, 0x7BFF};
  const uint16_t bf[4] = {0x3FC0, 0xC000, 0x0000, 0x477F};
  float y[4];
  dequantize_row(TensorType::kF32, f, y, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], f[i]);
  dequantize_row(TensorType::kF16, h, y, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], f[i]);
  dequantize_row(TensorType::kBF16, bf, y, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(y[i], f[i]);
  EXPECT_EQ(y[3], 65504.0f);  // untouched: n was 3
}

TEST(DequantizeRow, FillsNaNForPartialBlocksAndUnsupportedTypes) {
  BlockQ8_0 b{};
  float y[40];
  dequantize_row(TensorType::kQ8_0, &b, y, 40);
  for (float v : y) EXPECT_TRUE(std::isnan(v));
  dequantize_row(TensorType::kQ2_K, &b, y, 32);
  for (int i = 0; i < 32; ++i) EXPECT_TRUE(std::isnan(y[i]));
  EXPECT_TRUE(can_dequantize(TensorType::kQ6_K));
  EXPECT_FALSE(can_dequantize(TensorType::kQ4_1));
}

}  // namespace
}  // namespace cmdai
