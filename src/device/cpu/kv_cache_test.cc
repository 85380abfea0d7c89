#include "device/cpu/kv_cache.h"

#include <gtest/gtest.h>

#include "base/fp16.h"

namespace cmdai::cpu {
namespace {

using device::KvType;

TEST(KvCache, RejectsNonPositiveAndAbsurdSizes) {
  EXPECT_EQ(KvCache::create(0, 16, 8, KvType::kF16).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(KvCache::create(2, 1 << 30, 1 << 20, KvType::kF32).error().code,
            ErrorCode::kResourceExhausted);
}

TEST(KvCache, StoresRowsPerLayerInTheRequestedPrecision) {
  auto cache = KvCache::create(2, 4, 3, KvType::kF16);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ((*cache)->size_bytes(), 2u * 2 * 4 * 3 * 2);
  const float k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {-1, -2, -3, -4, -5, 0.1f};
  (*cache)->store(1, 2, 2, k, v);  // layer 1, positions 2 and 3
  const auto view = (*cache)->layer(1);
  EXPECT_TRUE(view.f16);
  const auto* kh = static_cast<const uint16_t*>(view.k);
  const auto* vh = static_cast<const uint16_t*>(view.v);
  EXPECT_EQ(fp16_to_f32(kh[2 * 3 + 0]), 1.0f);
  EXPECT_EQ(fp16_to_f32(kh[3 * 3 + 2]), 6.0f);
  EXPECT_EQ(vh[3 * 3 + 2], f32_to_fp16(0.1f));
  // Layer 0 is untouched.
  EXPECT_EQ(static_cast<const uint16_t*>((*cache)->layer(0).k)[2 * 3], 0);
}

TEST(KvCache, TruncateKeepsOnlyTheSharedPrefix) {
  auto cache = KvCache::create(1, 8, 2, KvType::kF32);
  ASSERT_TRUE(cache.ok());
  (*cache)->set_filled(6);
  (*cache)->truncate(4);
  EXPECT_EQ((*cache)->n_filled(), 4);
  (*cache)->truncate(7);  // cannot grow
  EXPECT_EQ((*cache)->n_filled(), 4);
}

TEST(KvCache, GrowingKeepsThePrefixRows) {
  auto small = KvCache::create(2, 3, 2, KvType::kF32);
  auto large = KvCache::create(2, 8, 2, KvType::kF32);
  ASSERT_TRUE(small.ok() && large.ok());
  const float k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {7, 8, 9, 10, 11, 12};
  (*small)->store(1, 0, 3, k, v);
  (*small)->set_filled(3);
  ASSERT_TRUE((*large)->copy_prefix(**small, 2).ok());
  EXPECT_EQ((*large)->n_filled(), 2);
  const float* lk = static_cast<const float*>((*large)->layer(1).k);
  const float* lv = static_cast<const float*>((*large)->layer(1).v);
  EXPECT_EQ(lk[3], 4.0f);
  EXPECT_EQ(lv[0], 7.0f);
  EXPECT_EQ(lk[4], 0.0f);  // position 2 was not copied
  auto other_type = KvCache::create(2, 8, 2, KvType::kF16);
  ASSERT_TRUE(other_type.ok());
  EXPECT_EQ((*other_type)->copy_prefix(**small, 2).error().code, ErrorCode::kInvalidArgument);
}

TEST(KvCache, RowsReadBackAsWrittenAndOutOfRangeRowsAreRefused) {
  auto cache = KvCache::create(2, 4, 2, KvType::kF32);
  ASSERT_TRUE(cache.ok());
  const float k[4] = {1, 2, 3, 4}, v[4] = {5, 6, 7, 8};
  ASSERT_TRUE((*cache)->write_rows(1, 2, 2, k, v).ok());
  float rk[4] = {}, rv[4] = {};
  ASSERT_TRUE((*cache)->read_rows(1, 2, 2, rk, rv).ok());
  EXPECT_EQ(rk[3], 4.0f);
  EXPECT_EQ(rv[0], 5.0f);
  EXPECT_EQ(static_cast<const float*>((*cache)->layer(1).k)[2 * 2 + 1], 2.0f);
  EXPECT_EQ((*cache)->read_rows(1, 3, 2, rk, rv).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*cache)->write_rows(2, 0, 1, k, v).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdai::cpu
