#include "device/mlx/repack.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "base/fp16.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"

namespace cmdai::mlx_device {
namespace {

// One group of 32 in affine form, before packing.
struct Group {
  uint8_t q[kGroupSize];
  float scale;
  float bias;
};

template <typename Block>
Block load_block(const uint8_t* bytes) {
  Block block;  // blocks inside a row are not aligned (210-byte q6_K, 18-byte q4_0, ...)
  std::memcpy(&block, bytes, sizeof(Block));
  return block;
}

// The eight groups of a q4_K (qh == nullptr) or q5_K super-block: each 32-byte run of qs holds
// sub-block 2c in its low nibbles and 2c+1 in its high ones; q5_K's fifth bit of element l of
// chunk c is bit 2c (low) / 2c+1 (high) of qh[l]. w = d*sc*q - dmin*m: scale d*sc, bias -dmin*m,
// both exact in float32 (an 11-bit mantissa times a 6-bit integer).
void k_quant_groups(uint16_t d_bits, uint16_t dmin_bits, const uint8_t* scales_packed,
                    const uint8_t* qs, const uint8_t* qh, Group* out) {
  const float d = fp16_to_f32(d_bits), dmin = fp16_to_f32(dmin_bits);
  for (int c = 0; c < 4; ++c) {
    for (int half = 0; half < 2; ++half) {
      const int j = 2 * c + half;
      uint8_t sc = 0, m = 0;
      k_scale_min(j, scales_packed, &sc, &m);
      Group& g = out[j];
      g.scale = d * static_cast<float>(sc);
      g.bias = -dmin * static_cast<float>(m);
      for (int l = 0; l < kGroupSize; ++l) {
        uint8_t q = half == 0 ? (qs[32 * c + l] & 0xF) : (qs[32 * c + l] >> 4);
        if (qh != nullptr) q |= static_cast<uint8_t>(((qh[l] >> j) & 1) << 4);
        g.q[l] = q;
      }
    }
  }
}

// Quantizes 32 floats to 8 bits between their min and max (q6_K's repacking).
void requantize_group(const float* w, Group* g) {
  float lo = w[0], hi = w[0];
  for (int l = 1; l < kGroupSize; ++l) {
    lo = std::min(lo, w[l]);
    hi = std::max(hi, w[l]);
  }
  const float scale = (hi - lo) / 255.0f;
  g->scale = scale;
  g->bias = lo;
  for (int l = 0; l < kGroupSize; ++l) {
    const float q = scale > 0 ? std::nearbyint((w[l] - lo) / scale) : 0.0f;
    g->q[l] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
  }
}

// The groups of one row, in column order.
void row_groups(const device::WeightMatrix& m, const uint8_t* row, std::vector<float>& scratch,
                Group* out) {
  const int64_t n_groups = m.cols / kGroupSize;
  switch (m.type) {
    case TensorType::kQ4_K:
    case TensorType::kQ5_K: {
      const bool q5 = m.type == TensorType::kQ5_K;
      const size_t block_bytes = q5 ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
      for (int64_t b = 0; b < m.cols / kQKK; ++b) {
        const uint8_t* at = row + b * block_bytes;
        if (q5) {
          const auto blk = load_block<BlockQ5_K>(at);
          k_quant_groups(blk.d, blk.dmin, blk.scales, blk.qs, blk.qh, out + 8 * b);
        } else {
          const auto blk = load_block<BlockQ4_K>(at);
          k_quant_groups(blk.d, blk.dmin, blk.scales, blk.qs, nullptr, out + 8 * b);
        }
      }
      return;
    }
    case TensorType::kQ8_0:  // w = d * q, q signed: unsigned q + 128, bias -128 d
      for (int64_t b = 0; b < n_groups; ++b) {
        const auto blk = load_block<BlockQ8_0>(row + b * sizeof(BlockQ8_0));
        const float d = fp16_to_f32(blk.d);
        out[b].scale = d;
        out[b].bias = -128.0f * d;
        for (int l = 0; l < kGroupSize; ++l) out[b].q[l] = static_cast<uint8_t>(blk.qs[l] + 128);
      }
      return;
    case TensorType::kQ4_0:    // w = d * (q - 8); low nibbles elements 0..15, high 16..31
    case TensorType::kQ5_0: {  // w = d * (q - 16); bit j of qh is element j's fifth bit
      const bool q5 = m.type == TensorType::kQ5_0;
      for (int64_t b = 0; b < n_groups; ++b) {
        uint32_t qh = 0;  // q4_0: no fifth bits
        uint8_t qs[kQK / 2];
        float d = 0;
        if (q5) {
          const auto blk = load_block<BlockQ5_0>(row + b * sizeof(BlockQ5_0));
          std::memcpy(&qh, blk.qh, sizeof(qh));
          std::memcpy(qs, blk.qs, sizeof(qs));
          d = fp16_to_f32(blk.d);
        } else {
          const auto blk = load_block<BlockQ4_0>(row + b * sizeof(BlockQ4_0));
          std::memcpy(qs, blk.qs, sizeof(qs));
          d = fp16_to_f32(blk.d);
        }
        for (int l = 0; l < kQK / 2; ++l) {
          out[b].q[l] = static_cast<uint8_t>((qs[l] & 0xF) | (((qh >> l) & 1) << 4));
          out[b].q[l + 16] = static_cast<uint8_t>((qs[l] >> 4) | (((qh >> (l + 16)) & 1) << 4));
        }
        out[b].scale = d;
        out[b].bias = (q5 ? -16.0f : -8.0f) * d;
      }
      return;
    }
    default:  // q6_K: dequantized, then 8-bit per group of 32
      scratch.resize(static_cast<size_t>(m.cols));
      dequantize_row(m.type, row, scratch.data(), m.cols);
      for (int64_t b = 0; b < n_groups; ++b)
        requantize_group(scratch.data() + b * kGroupSize, out + b);
      return;
  }
}

// Packs a group's q values little-endian at `bits` each: 32 values fill bits words.
void pack_group(const Group& g, int bits, uint32_t* words) {
  uint8_t bytes[kGroupSize];  // at most 32 * 8 bits
  switch (bits) {
    case 8:
      std::memcpy(bytes, g.q, kGroupSize);
      break;
    case 4:
      for (int k = 0; k < kGroupSize / 2; ++k) {
        bytes[k] = static_cast<uint8_t>(g.q[2 * k] | (g.q[2 * k + 1] << 4));
      }
      break;
    default:  // 5: eight values in five bytes
      for (int p = 0; p < kGroupSize / 8; ++p) {
        uint64_t acc = 0;
        for (int k = 0; k < 8; ++k) acc |= static_cast<uint64_t>(g.q[8 * p + k]) << (5 * k);
        for (int k = 0; k < 5; ++k) bytes[5 * p + k] = static_cast<uint8_t>(acc >> (8 * k));
      }
      break;
  }
  std::memcpy(words, bytes, static_cast<size_t>(bits) * 4);  // little-endian hosts (x86, arm64)
}

}  // namespace

Result<MlxForm> mlx_form_of(const device::WeightMatrix& m) {
  MlxForm form;
  switch (m.type) {
    case TensorType::kF32:
      form.dense = DenseType::kF32;
      return form;
    case TensorType::kF16:
      form.dense = DenseType::kF16;
      return form;
    case TensorType::kBF16:
      form.dense = DenseType::kBF16;
      return form;
    case TensorType::kQ4_K:
    case TensorType::kQ4_0:
      form.bits = 4;
      break;
    case TensorType::kQ5_K:
    case TensorType::kQ5_0:
      form.bits = 5;
      break;
    case TensorType::kQ8_0:
      form.bits = 8;
      break;
    case TensorType::kQ6_K:
      form.bits = kQ6KBits;
      form.exact = false;
      break;
    default:
      return make_error(ErrorCode::kUnsupported, "the MLX device has no form for {} weights",
                        type_name(m.type));
  }
  if (m.cols % kGroupSize != 0) {
    return make_error(ErrorCode::kUnsupported,
                      "the MLX device needs rows of a multiple of {} elements ({} has {})",
                      kGroupSize, type_name(m.type), m.cols);
  }
  return form;
}

RepackedSizes repacked_sizes(const device::WeightMatrix& m, const MlxForm& form) {
  RepackedSizes sizes;
  const size_t elements = static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols);
  switch (form.dense) {
    case DenseType::kF32:
      sizes.dense_bytes = elements * 4;
      return sizes;
    case DenseType::kF16:
    case DenseType::kBF16:
      sizes.dense_bytes = elements * 2;
      return sizes;
    case DenseType::kNone:
      break;
  }
  sizes.word_count = elements * static_cast<size_t>(form.bits) / 32;
  sizes.group_count = elements / kGroupSize;
  return sizes;
}

void repack_affine_rows(const device::WeightMatrix& m, const MlxForm& form, int64_t row0,
                        int64_t row1, uint32_t* words, float* scales, float* biases) {
  const int64_t n_groups = m.cols / kGroupSize;
  std::vector<Group> groups(static_cast<size_t>(n_groups));
  std::vector<float> scratch;
  for (int64_t r = row0; r < row1; ++r) {
    row_groups(m, m.data + static_cast<size_t>(r) * m.row_bytes, scratch, groups.data());
    for (int64_t g = 0; g < n_groups; ++g) {
      pack_group(groups[g], form.bits, words);
      words += form.bits;
      *scales++ = groups[g].scale;
      *biases++ = groups[g].bias;
    }
  }
}

void repack_matrix(const device::WeightMatrix& m, const MlxForm& form, uint32_t* words,
                   float* scales, float* biases, uint8_t* dense) {
  if (form.dense != DenseType::kNone) {
    const size_t dense_row = repacked_sizes(m, form).dense_bytes / static_cast<size_t>(m.rows);
    for (int64_t r = 0; r < m.rows; ++r) {
      std::memcpy(dense + r * dense_row, m.data + r * m.row_bytes, dense_row);
    }
    return;
  }
  const int64_t words_per_row = m.cols * form.bits / 32, groups_per_row = m.cols / kGroupSize;
  const int64_t n_threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1,
                                                std::max<int64_t>(1, m.rows / 64));
  const int64_t chunk = (m.rows + n_threads - 1) / n_threads;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < n_threads; ++t) {
    const int64_t row0 = t * chunk, row1 = std::min(m.rows, row0 + chunk);
    if (row0 >= row1) break;
    threads.emplace_back([&, row0, row1] {
      repack_affine_rows(m, form, row0, row1, words + row0 * words_per_row,
                         scales + row0 * groups_per_row, biases + row0 * groups_per_row);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace cmdai::mlx_device
