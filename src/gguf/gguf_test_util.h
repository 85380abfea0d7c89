// Test-only helpers: small synthetic GGUF models, value comparison, and finding fields in file
// bytes so corruption tests can aim at one field.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/types.h"

namespace cmdai::gguf::testing {

// Deterministic filler so every tensor's bytes differ from every other's.
inline std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

inline size_t tensor_size(TensorType type, const std::vector<int64_t>& ne) {
  size_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= static_cast<size_t>(ne[i]);
  return *row_bytes(type, ne[0]) * rows;
}

inline void add_pattern_tensor(GgufWriter& w, const std::string& name, TensorType type,
                               std::vector<int64_t> ne, uint32_t seed) {
  const size_t size = tensor_size(type, ne);
  w.add_tensor(name, type, std::move(ne), pattern_bytes(size, seed));
}

// A few keys of different kinds (one a string array) and tensors of several types and shapes.
inline GgufWriter small_model(uint64_t alignment = 32) {
  GgufWriter w(alignment);
  w.set_string("general.architecture", "llama");
  w.set_u32("test.key_a", 7);
  w.set_u32("test.key_b", 8);
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello", "world"});
  w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  add_pattern_tensor(w, "t.a", TensorType::kF32, {10}, 1);
  add_pattern_tensor(w, "t.b", TensorType::kF16, {16, 3}, 2);
  add_pattern_tensor(w, "t.q8", TensorType::kQ8_0, {64, 2}, 3);
  add_pattern_tensor(w, "t.q4k", TensorType::kQ4_K, {256, 2}, 4);
  return w;
}

// Offset just past the first length-prefixed occurrence of `s` in `bytes` (npos when absent).
inline size_t after_string(const std::vector<uint8_t>& bytes, std::string_view s) {
  std::vector<uint8_t> needle(8 + s.size());
  const uint64_t len = s.size();
  std::memcpy(needle.data(), &len, 8);
  std::memcpy(needle.data() + 8, s.data(), s.size());
  for (size_t i = 0; i + needle.size() <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, needle.data(), needle.size()) == 0) return i + needle.size();
  }
  return std::string::npos;
}

// Where a tensor's fields sit in the tensor table (the tensor must have `n_dims` dimensions).
struct TensorFields {
  size_t name_length;  // u64 length prefix of the name
  size_t n_dims;       // u32
  size_t ne;           // u64 each
  size_t type;         // u32
  size_t offset;       // u64, relative to the data section
};

inline TensorFields tensor_fields(const std::vector<uint8_t>& bytes, std::string_view name,
                                  uint32_t n_dims) {
  const size_t end = after_string(bytes, name);
  TensorFields f;
  f.name_length = end - name.size() - 8;
  f.n_dims = end;
  f.ne = end + 4;
  f.type = f.ne + 8 * n_dims;
  f.offset = f.type + 4;
  return f;
}

template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

template <typename T>
T peek(const std::vector<uint8_t>& bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

inline size_t value_bytes(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    default:
      return 8;
  }
}

// Equal type and contents; an empty string means equal, else it says what differs.
inline std::string compare_values(const Value& a, const Value& b) {
  if (a.type != b.type) return "type differs";
  switch (a.type) {
    case ValueType::kString:
      return a.string == b.string ? "" : "string differs";
    case ValueType::kBool:
      return a.boolean == b.boolean ? "" : "bool differs";
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      return std::memcmp(&a.real, &b.real, sizeof(double)) == 0 ? "" : "float differs";
    case ValueType::kArray: {
      if (a.element_type != b.element_type) return "element type differs";
      if (a.count != b.count) return "count differs";
      if (a.element_type == ValueType::kString)
        return a.strings == b.strings ? "" : "strings differ";
      const size_t n = a.count * value_bytes(a.element_type);
      return n == 0 || std::memcmp(a.array_data, b.array_data, n) == 0 ? "" : "array bytes differ";
    }
    default:
      return a.integer == b.integer && a.uinteger == b.uinteger ? "" : "integer differs";
  }
}

}  // namespace cmdai::gguf::testing
