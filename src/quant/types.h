// Tensor element types as numbered in GGUF files, with each type's block geometry.
// Block layouts themselves live in quant/blocks.h; this header is what the file reader needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cmdai {

// Values are the GGUF/ggml type ids and must not change.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct TypeTraits {
  TensorType type;
  std::string_view name;   // ggml's spelling: "f32", "q4_K", ...
  int64_t block_elements;  // elements per block (1 for plain floats)
  size_t block_bytes;      // bytes per block
  bool has_kernels;        // cmdai can compute with it (dequantize + dot product)
};

// nullopt for an id cmdai does not know at all (the reader reports it as unknown).
std::optional<TypeTraits> type_traits(uint32_t raw_type);
const TypeTraits& traits_of(TensorType type);  // type must be a known enumerator
std::string_view type_name(TensorType type);

// Bytes of a row of n elements; nullopt when n is not a whole number of blocks or overflows.
std::optional<size_t> row_bytes(TensorType type, int64_t n_elements);

}  // namespace cmdai
