#include "quant/types.h"

#include <array>
#include <limits>

#include "quant/blocks.h"

namespace cmdai {
namespace {

// Block sizes from the GGUF format description (ggml's block structs): checked by static_asserts
// against the structs in quant/blocks.h.
constexpr std::array<TypeTraits, 15> kTraits = {{
    {TensorType::kF32, "f32", 1, 4, true},
    {TensorType::kF16, "f16", 1, 2, true},
    {TensorType::kQ4_0, "q4_0", 32, 18, true},
    {TensorType::kQ4_1, "q4_1", 32, 20, false},
    {TensorType::kQ5_0, "q5_0", 32, 22, true},
    {TensorType::kQ5_1, "q5_1", 32, 24, false},
    {TensorType::kQ8_0, "q8_0", 32, 34, true},
    {TensorType::kQ8_1, "q8_1", 32, 36, false},
    {TensorType::kQ2_K, "q2_K", 256, 84, false},
    {TensorType::kQ3_K, "q3_K", 256, 110, false},
    {TensorType::kQ4_K, "q4_K", 256, 144, true},
    {TensorType::kQ5_K, "q5_K", 256, 176, true},
    {TensorType::kQ6_K, "q6_K", 256, 210, true},
    {TensorType::kQ8_K, "q8_K", 256, 292, false},
    {TensorType::kBF16, "bf16", 1, 2, true},
}};

static_assert(kTraits[2].block_bytes == sizeof(BlockQ4_0));
static_assert(kTraits[4].block_bytes == sizeof(BlockQ5_0));
static_assert(kTraits[6].block_bytes == sizeof(BlockQ8_0));
static_assert(kTraits[10].block_bytes == sizeof(BlockQ4_K));
static_assert(kTraits[11].block_bytes == sizeof(BlockQ5_K));
static_assert(kTraits[12].block_bytes == sizeof(BlockQ6_K));
static_assert(kTraits[13].block_bytes == sizeof(BlockQ8_K));

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t raw_type) {
  for (const auto& t : kTraits) {
    if (static_cast<uint32_t>(t.type) == raw_type) return t;
  }
  return std::nullopt;
}

const TypeTraits& traits_of(TensorType type) {
  for (const auto& t : kTraits) {
    if (t.type == type) return t;
  }
  return kTraits[0];  // unreachable for valid enumerators
}

std::string_view type_name(TensorType type) { return traits_of(type).name; }

std::optional<size_t> row_bytes(TensorType type, int64_t n_elements) {
  const TypeTraits& t = traits_of(type);
  if (n_elements < 0 || n_elements % t.block_elements != 0) return std::nullopt;
  const uint64_t blocks = static_cast<uint64_t>(n_elements / t.block_elements);
  if (blocks > std::numeric_limits<uint64_t>::max() / t.block_bytes) return std::nullopt;
  return static_cast<size_t>(blocks * t.block_bytes);
}

}  // namespace cmdai
