#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include "base/fp16.h"

namespace cmdai::model {
namespace {

TEST(KvCache, ContextIsPromptPlusNewTokensCappedByModelContext) {
  EXPECT_EQ(KvCache::context_for(23, 32, 2048), 55);
  EXPECT_EQ(KvCache::context_for(2000, 100, 2048), 2048);
  EXPECT_EQ(KvCache::context_for(0, 0, 2048), 1);
}

TEST(KvCache, RejectsNonPositiveAndAbsurdSizes) {
  EXPECT_EQ(KvCache::create(0, 16, 8, KvType::kF16).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(KvCache::create(2, 1 << 30, 1 << 20, KvType::kF32).error().code,
            ErrorCode::kResourceExhausted);
}

TEST(KvCache, StoresRowsPerLayerInTheRequestedPrecision) {
  auto cache = KvCache::create(2, 4, 3, KvType::kF16);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(cache->size_bytes(), 2u * 2 * 4 * 3 * 2);
  const float k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {-1, -2, -3, -4, -5, 0.1f};
  cache->store(1, 2, 2, k, v);  // layer 1, positions 2 and 3
  const auto view = cache->layer(1);
  EXPECT_TRUE(view.f16);
  const auto* kh = static_cast<const uint16_t*>(view.k);
  const auto* vh = static_cast<const uint16_t*>(view.v);
  EXPECT_EQ(fp16_to_f32(kh[2 * 3 + 0]), 1.0f);
  EXPECT_EQ(fp16_to_f32(kh[3 * 3 + 2]), 6.0f);
  EXPECT_EQ(vh[3 * 3 + 2], f32_to_fp16(0.1f));
  // Layer 0 is untouched.
  EXPECT_EQ(static_cast<const uint16_t*>(cache->layer(0).k)[2 * 3], 0);
}

TEST(KvCache, TruncateKeepsOnlyTheSharedPrefix) {
  auto cache = KvCache::create(1, 8, 2, KvType::kF32);
  ASSERT_TRUE(cache.ok());
  cache->set_filled(6);
  cache->truncate(4);
  EXPECT_EQ(cache->n_filled(), 4);
  cache->truncate(7);  // cannot grow
  EXPECT_EQ(cache->n_filled(), 4);
}

TEST(KvCache, GrowingKeepsThePrefixRows) {
  auto small = KvCache::create(2, 3, 2, KvType::kF32);
  auto large = KvCache::create(2, 8, 2, KvType::kF32);
  ASSERT_TRUE(small.ok() && large.ok());
  const float k[6] = {1, 2, 3, 4, 5, 6}, v[6] = {7, 8, 9, 10, 11, 12};
  small->store(1, 0, 3, k, v);
  small->set_filled(3);
  large->copy_prefix(*small, 2);
  EXPECT_EQ(large->n_filled(), 2);
  const float* lk = static_cast<const float*>(large->layer(1).k);
  const float* lv = static_cast<const float*>(large->layer(1).v);
  EXPECT_EQ(lk[3], 4.0f);
  EXPECT_EQ(lv[0], 7.0f);
  EXPECT_EQ(lk[4], 0.0f);  // position 2 was not copied
}

TEST(KvCache, SnapshotRoundTripsAndRejectsDamageOrAnotherShape) {
  auto cache = KvCache::create(2, 6, 3, KvType::kF16);
  ASSERT_TRUE(cache.ok());
  const float k[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, v[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  cache->store(0, 0, 3, k, v);
  cache->store(1, 0, 3, v, k);
  cache->set_filled(3);
  const std::vector<int32_t> tokens = {11, 12};  // only the first two positions are saved
  const std::vector<uint8_t> bytes = cache->serialize(tokens);

  std::vector<int32_t> restored_tokens;
  auto restored = KvCache::deserialize(bytes, 2, 3, KvType::kF16, 10, &restored_tokens);
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored_tokens, tokens);
  EXPECT_EQ(restored->n_filled(), 2);
  EXPECT_EQ(restored->n_ctx(), 10);
  const auto* rk = static_cast<const uint16_t*>(restored->layer(1).k);
  EXPECT_EQ(fp16_to_f32(rk[5]), -6.0f);

  std::vector<uint8_t> truncated(bytes.begin(), bytes.end() - 1);
  EXPECT_EQ(KvCache::deserialize(truncated, 2, 3, KvType::kF16, 10, &restored_tokens).error().code,
            ErrorCode::kCorruptFile);
  std::vector<uint8_t> bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(KvCache::deserialize(bad_magic, 2, 3, KvType::kF16, 10, &restored_tokens).error().code,
            ErrorCode::kCorruptFile);
  EXPECT_EQ(KvCache::deserialize(bytes, 2, 3, KvType::kF32, 10, &restored_tokens).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(KvCache::deserialize(bytes, 3, 3, KvType::kF16, 10, &restored_tokens).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdai::model
