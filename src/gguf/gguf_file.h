// GGUF v2/v3 reader: memory-maps a model file, validates every count, offset and size against the
// file before use, and exposes typed metadata and zero-copy tensor views.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "quant/types.h"

namespace cmdai::gguf {

// GGUF metadata value types; values are the on-disk ids.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
std::string_view value_type_name(ValueType type);

// One metadata value. Scalars are widened into `integer` / `real` / `boolean`; strings and string
// arrays are views into the mapped file; numeric arrays keep a pointer to their raw little-endian
// bytes (possibly unaligned: read them through the typed accessors below).
struct Value {
  ValueType type = ValueType::kUint8;
  int64_t integer = 0;  // all integer types and bool (uint64 above INT64_MAX is kept in `uinteger`)
  uint64_t uinteger = 0;
  double real = 0.0;
  bool boolean = false;
  std::string_view string;
  ValueType element_type = ValueType::kUint8;  // arrays only
  uint64_t count = 0;                          // arrays only
  const uint8_t* array_data = nullptr;         // numeric arrays only
  std::vector<std::string_view> strings;       // string arrays only
};

struct MetadataEntry {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  TensorType type = TensorType::kF32;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the contiguous (row) dimension
  int64_t n_elements = 0;
  uint64_t offset = 0;  // absolute offset in the file
  uint64_t size_bytes = 0;
  const uint8_t* data = nullptr;  // points into the mapping

  int64_t rows() const;  // product of ne[1..]
  size_t row_size_bytes() const;
};

class GgufFile {
 public:
  // Maps and parses `path`. Every failure names the file and what is wrong.
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes owned by the caller (they must outlive the result); `name` is used in errors.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes, const std::string& name);

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }

  const std::vector<MetadataEntry>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;

  // Typed access: a missing key is kNotFound, a wrong type kCorruptFile; both name the key.
  Result<std::string_view> get_string(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;   // any integer type
  Result<double> get_float(std::string_view key) const;  // float32/64 or any integer
  Result<bool> get_bool(std::string_view key) const;
  Result<const std::vector<std::string_view>*> get_string_array(std::string_view key) const;
  Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
  Result<std::vector<float>> get_float_array(std::string_view key) const;
  // Defaults for optional keys (still an error if present with the wrong type).
  Result<int64_t> get_int_or(std::string_view key, int64_t fallback) const;
  Result<double> get_float_or(std::string_view key, double fallback) const;
  Result<bool> get_bool_or(std::string_view key, bool fallback) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // kNotFound naming the file and tensor when absent.
  Result<const TensorInfo*> tensor(std::string_view name) const;

  std::string architecture() const;  // general.architecture or ""

  // Fills in the mapping's page tables on a background thread (MappedFile::populate_in_background);
  // no-op for parsed caller-owned bytes.
  void populate_in_background() const;
  // Drops the mapping (views become invalid).
  void close();

 private:
  std::shared_ptr<MappedFile> mapping_;  // null when parsing caller-owned bytes
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<MetadataEntry> metadata_;
  std::vector<TensorInfo> tensors_;

  friend class Parser;
};

}  // namespace cmdai::gguf
