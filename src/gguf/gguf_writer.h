// GGUF v3 writer: any metadata and tensors, written atomically. Used by tests (synthetic and
// corrupt models) and by `cmdai model synth`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "quant/types.h"

namespace cmdai::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}

  // Setting a key twice replaces the first value (keeps its position).
  void set_u32(std::string_view key, uint32_t value);
  void set_i32(std::string_view key, int32_t value);
  void set_u64(std::string_view key, uint64_t value);
  void set_f32(std::string_view key, float value);
  void set_bool(std::string_view key, bool value);
  void set_string(std::string_view key, std::string_view value);
  void set_string_array(std::string_view key, const std::vector<std::string>& values);
  void set_i32_array(std::string_view key, const std::vector<int32_t>& values);
  void set_f32_array(std::string_view key, const std::vector<float>& values);
  // Copies a value read from another file (e.g. the tokenizer of a vocab-only GGUF).
  void set_value(std::string_view key, const Value& value);

  // `data` must hold exactly the bytes of a tensor of this type and shape (checked in to_bytes()).
  void add_tensor(std::string_view name, TensorType type, std::vector<int64_t> ne,
                  std::vector<uint8_t> data);

  // Serialized file bytes.
  Result<std::vector<uint8_t>> to_bytes() const;
  // Writes to `path` through a temporary file and rename; a full disk is kResourceExhausted.
  Status write(const std::string& path) const;

 private:
  struct Entry {
    std::string key;
    std::vector<uint8_t> encoded;  // type id + payload, as on disk after the key
  };
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
  };
  void put(std::string_view key, std::vector<uint8_t> encoded);
  // Checks tensors (type, shape, data size, unique names), the alignment and set_value() inputs.
  Status validate() const;
  // The encoded general.alignment entry to append, empty when none is needed.
  Result<std::vector<uint8_t>> alignment_entry() const;

  uint64_t alignment_;
  std::vector<Entry> entries_;
  std::vector<Tensor> tensors_;
  std::vector<std::string> invalid_;  // set_value() inputs that have no encoding
};

}  // namespace cmdai::gguf
