#include "model/kv_snapshot.h"

#include <gtest/gtest.h>

#include "base/fp16.h"
#include "device/cpu/kv_cache.h"
#include "model/model.h"

namespace cmdai::model {
namespace {

KvFactory cpu_factory(int64_t n_layers, int64_t kv_dim, KvType type) {
  return [=](int64_t n_ctx) -> Result<std::unique_ptr<device::KvState>> {
    CMDAI_ASSIGN_OR_RETURN(auto cache, cpu::KvCache::create(n_layers, n_ctx, kv_dim, type));
    return std::unique_ptr<device::KvState>(std::move(cache));
  };
}

TEST(KvContext, IsPromptPlusNewTokensCappedByModelContext) {
  EXPECT_EQ(kv_context_for(23, 32, 2048), 55);
  EXPECT_EQ(kv_context_for(2000, 100, 2048), 2048);
  EXPECT_EQ(kv_context_for(0, 0, 2048), 1);
}

TEST(KvSnapshot, RoundTripsAndRejectsDamageOrAnotherShape) {
  auto cache = cpu::KvCache::create(2, 6, 3, KvType::kF16);
  ASSERT_TRUE(cache.ok());
  const float k[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, v[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  (*cache)->store(0, 0, 3, k, v);
  (*cache)->store(1, 0, 3, v, k);
  (*cache)->set_filled(3);
  const std::vector<int32_t> tokens = {11, 12};  // only the first two positions are saved
  constexpr uint64_t kModel = 0x1234;
  auto bytes = serialize_kv(**cache, tokens, kModel);
  ASSERT_TRUE(bytes.ok());

  std::vector<int32_t> restored_tokens;
  const KvFactory make = cpu_factory(2, 3, KvType::kF16);
  auto restored = deserialize_kv(*bytes, 2, 3, KvType::kF16, 10, kModel, make, &restored_tokens);
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored_tokens, tokens);
  EXPECT_EQ((*restored)->n_filled(), 2);
  EXPECT_EQ((*restored)->n_ctx(), 10);
  const auto* rk = static_cast<const uint16_t*>(dynamic_cast<cpu::KvCache&>(**restored).layer(1).k);
  EXPECT_EQ(fp16_to_f32(rk[5]), -6.0f);
  EXPECT_EQ(rk[6], 0);  // position 2 was not saved

  std::vector<uint8_t> truncated(bytes->begin(), bytes->end() - 1);
  EXPECT_EQ(deserialize_kv(truncated, 2, 3, KvType::kF16, 10, kModel, make, &restored_tokens)
                .error()
                .code,
            ErrorCode::kCorruptFile);
  std::vector<uint8_t> bad_magic = *bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(deserialize_kv(bad_magic, 2, 3, KvType::kF16, 10, kModel, make, &restored_tokens)
                .error()
                .code,
            ErrorCode::kCorruptFile);
  EXPECT_EQ(
      deserialize_kv(*bytes, 2, 3, KvType::kF32, 10, kModel, make, &restored_tokens).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      deserialize_kv(*bytes, 3, 3, KvType::kF16, 10, kModel, make, &restored_tokens).error().code,
      ErrorCode::kInvalidArgument);
}

TEST(KvSnapshot, AFlippedByteAnywhereOrAnotherModelsSnapshotIsRefused) {
  auto cache = cpu::KvCache::create(2, 4, 3, KvType::kF32);
  ASSERT_TRUE(cache.ok());
  const float k[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  (*cache)->store(0, 0, 3, k, k);
  (*cache)->store(1, 0, 3, k, k);
  (*cache)->set_filled(3);
  const std::vector<int32_t> tokens = {5, 6, 7};
  auto bytes = serialize_kv(**cache, tokens, 42);
  ASSERT_TRUE(bytes.ok());
  const KvFactory make = cpu_factory(2, 3, KvType::kF32);
  std::vector<int32_t> restored;
  ASSERT_TRUE(deserialize_kv(*bytes, 2, 3, KvType::kF32, 4, 42, make, &restored).ok());
  // Every byte matters: the header, the token ids, the rows and the checksum itself.
  for (size_t at = 0; at < bytes->size(); ++at) {
    std::vector<uint8_t> damaged = *bytes;
    damaged[at] ^= 0x10;
    auto result = deserialize_kv(damaged, 2, 3, KvType::kF32, 4, 42, make, &restored);
    ASSERT_FALSE(result.ok()) << "a flipped byte at " << at << " went unnoticed";
  }
  auto foreign = deserialize_kv(*bytes, 2, 3, KvType::kF32, 4, 43, make, &restored);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(foreign.error().message.find("another model file"), std::string::npos);
}

}  // namespace
}  // namespace cmdai::model
