#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace cmdai::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
// Limits that no real model comes near; they keep a corrupt count from becoming a huge allocation.
constexpr uint64_t kMaxStringBytes = 64ull << 20;
constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxKeys = 1u << 20;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxArrayNesting = 1;  // arrays of arrays are not used by any model key we read
// The fewest bytes one entry can take: a key is an 8-byte length + type id + a 1-byte value; a
// tensor is an 8-byte name length + n_dims + one dimension + type + offset.
constexpr uint64_t kMinKeyBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorBytes = 8 + 4 + 8 + 4 + 8;

size_t scalar_size(ValueType type) {
  switch (type) {
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
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

bool is_integer(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kUint16:
    case ValueType::kInt16:
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kUint64:
    case ValueType::kInt64:
      return true;
    default:
      return false;
  }
}

// For error messages about counts read from a corrupt file, where the product may not fit.
uint64_t saturating_mul(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b
             ? std::numeric_limits<uint64_t>::max()
             : a * b;
}

template <typename T>
T load_le(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof value);  // x86-64 and arm64 are little-endian
  return value;
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
      return "u8";
    case ValueType::kInt8:
      return "i8";
    case ValueType::kUint16:
      return "u16";
    case ValueType::kInt16:
      return "i16";
    case ValueType::kUint32:
      return "u32";
    case ValueType::kInt32:
      return "i32";
    case ValueType::kFloat32:
      return "f32";
    case ValueType::kBool:
      return "bool";
    case ValueType::kString:
      return "str";
    case ValueType::kArray:
      return "arr";
    case ValueType::kUint64:
      return "u64";
    case ValueType::kInt64:
      return "i64";
    case ValueType::kFloat64:
      return "f64";
  }
  return "?";
}

int64_t TensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
  return r;
}

size_t TensorInfo::row_size_bytes() const {
  return ne.empty() ? 0 : row_bytes(type, ne[0]).value_or(0);
}

// Reads the header, metadata and tensor table with a cursor that never passes the end of the bytes.
class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  Status parse(GgufFile& file);

 private:
  Error corrupt(const std::string& what) const {
    return make_error(ErrorCode::kCorruptFile,
                      "model file '{}' is corrupt: {} (at byte {}, file has {} bytes)", name_, what,
                      pos_, bytes_.size());
  }
  Error truncated(const std::string& what, uint64_t need) const {
    return make_error(
        ErrorCode::kCorruptFile,
        "model file '{}' is truncated: {} needs {} bytes at offset {}, the file has {} "
        "(download it again)",
        name_, what, need, pos_, bytes_.size());
  }
  bool has(uint64_t n) const { return n <= bytes_.size() - pos_; }
  // How many entries of at least `min_bytes` each the rest of the file can hold: a count read from
  // the file is only trusted for reserve() up to this.
  uint64_t fits(uint64_t min_bytes) const { return (bytes_.size() - pos_) / min_bytes; }

  template <typename T>
  Result<T> read(const char* what) {
    if (!has(sizeof(T))) return truncated(what, sizeof(T));
    T v = load_le<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string_view> read_string(const char* what);
  Status read_value(ValueType type, Value& out, const std::string& key, int depth);
  Status read_array(Value& out, const std::string& key, int depth);
  Status parse_metadata(GgufFile& file, uint64_t n_kv);
  Status parse_tensor_table(GgufFile& file, uint64_t n_tensors);
  Status place_tensors(GgufFile& file);

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  uint64_t pos_ = 0;
};

Result<std::string_view> Parser::read_string(const char* what) {
  CMDAI_ASSIGN_OR_RETURN(uint64_t len, read<uint64_t>(what));
  if (len > kMaxStringBytes) return corrupt(fmt::format("{} has absurd length {}", what, len));
  if (!has(len)) return truncated(what, len);
  std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
  pos_ += len;
  return s;
}

Status Parser::read_value(ValueType type, Value& out, const std::string& key, int depth) {
  out.type = type;
  const std::string what = "value of key '" + key + "'";
  switch (type) {
    case ValueType::kUint8: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<uint8_t>(what.c_str()));
      out.integer = v;
      out.uinteger = v;
      break;
    }
    case ValueType::kInt8: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<int8_t>(what.c_str()));
      out.integer = v;
      out.uinteger = static_cast<uint64_t>(v);
      break;
    }
    case ValueType::kUint16: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<uint16_t>(what.c_str()));
      out.integer = v;
      out.uinteger = v;
      break;
    }
    case ValueType::kInt16: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<int16_t>(what.c_str()));
      out.integer = v;
      out.uinteger = static_cast<uint64_t>(v);
      break;
    }
    case ValueType::kUint32: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<uint32_t>(what.c_str()));
      out.integer = v;
      out.uinteger = v;
      break;
    }
    case ValueType::kInt32: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<int32_t>(what.c_str()));
      out.integer = v;
      out.uinteger = static_cast<uint64_t>(v);
      break;
    }
    case ValueType::kUint64: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<uint64_t>(what.c_str()));
      out.uinteger = v;
      out.integer = v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                        ? std::numeric_limits<int64_t>::max()
                        : static_cast<int64_t>(v);
      break;
    }
    case ValueType::kInt64: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<int64_t>(what.c_str()));
      out.integer = v;
      out.uinteger = static_cast<uint64_t>(v);
      break;
    }
    case ValueType::kFloat32: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<float>(what.c_str()));
      out.real = v;
      break;
    }
    case ValueType::kFloat64: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<double>(what.c_str()));
      out.real = v;
      break;
    }
    case ValueType::kBool: {
      CMDAI_ASSIGN_OR_RETURN(auto v, read<uint8_t>(what.c_str()));
      if (v > 1) return corrupt(fmt::format("key '{}' holds bool value {}", key, v));
      out.boolean = v != 0;
      out.integer = v;
      break;
    }
    case ValueType::kString: {
      CMDAI_ASSIGN_OR_RETURN(out.string, read_string(what.c_str()));
      break;
    }
    case ValueType::kArray:
      return read_array(out, key, depth);
    default:
      return corrupt(
          fmt::format("key '{}' has unknown value type {}", key, static_cast<uint32_t>(type)));
  }
  return ok_status();
}

Status Parser::read_array(Value& out, const std::string& key, int depth) {
  if (depth >= static_cast<int>(kMaxArrayNesting)) {
    return corrupt(fmt::format("key '{}' nests arrays", key));
  }
  CMDAI_ASSIGN_OR_RETURN(uint32_t raw_elem, read<uint32_t>("array element type"));
  CMDAI_ASSIGN_OR_RETURN(uint64_t count, read<uint64_t>("array length"));
  out.element_type = static_cast<ValueType>(raw_elem);
  out.count = count;
  if (out.element_type == ValueType::kString) {
    // Each string takes at least its 8-byte length: a count beyond that cannot fit in the file.
    if (count > (bytes_.size() - pos_) / 8) {
      return truncated(fmt::format("array '{}' of {} strings", key, count).c_str(),
                       saturating_mul(count, 8));
    }
    out.strings.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      CMDAI_ASSIGN_OR_RETURN(auto s, read_string("array string"));
      out.strings.push_back(s);
    }
    return ok_status();
  }
  const size_t elem = scalar_size(out.element_type);
  if (elem == 0) {
    return corrupt(fmt::format("array '{}' has unsupported element type {}", key, raw_elem));
  }
  if (count > (bytes_.size() - pos_) / elem) {
    return truncated(fmt::format("array '{}' of {} elements", key, count).c_str(),
                     saturating_mul(count, elem));
  }
  out.array_data = bytes_.data() + pos_;
  pos_ += count * elem;
  return ok_status();
}

Status Parser::parse_metadata(GgufFile& file, uint64_t n_kv) {
  std::unordered_set<std::string_view> seen;
  file.metadata_.reserve(std::min(n_kv, fits(kMinKeyBytes)));
  for (uint64_t i = 0; i < n_kv; ++i) {
    CMDAI_ASSIGN_OR_RETURN(auto key, read_string("metadata key"));
    CMDAI_ASSIGN_OR_RETURN(uint32_t raw_type, read<uint32_t>("metadata value type"));
    MetadataEntry entry;
    entry.key = std::string(key);
    CMDAI_TRY(read_value(static_cast<ValueType>(raw_type), entry.value, entry.key, 0));
    if (!seen.insert(key).second) return corrupt(fmt::format("key '{}' appears twice", key));
    file.metadata_.push_back(std::move(entry));
  }
  if (const Value* align = file.find("general.alignment")) {
    // GGUF requires a multiple of 8: smaller ones would put f32 weights at odd addresses.
    if (!is_integer(align->type) || align->integer < 8 ||
        (align->integer & (align->integer - 1)) != 0 || align->integer > (1 << 20)) {
      return corrupt(fmt::format("general.alignment must be a power of two from 8 to 1 MiB, got {}",
                                 align->integer));
    }
    file.alignment_ = static_cast<uint64_t>(align->integer);
  }
  return ok_status();
}

Status Parser::parse_tensor_table(GgufFile& file, uint64_t n_tensors) {
  std::unordered_set<std::string> names;
  file.tensors_.reserve(std::min(n_tensors, fits(kMinTensorBytes)));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    CMDAI_ASSIGN_OR_RETURN(auto name, read_string("tensor name"));
    t.name = std::string(name);
    CMDAI_ASSIGN_OR_RETURN(uint32_t n_dims, read<uint32_t>("tensor dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return corrupt(
          fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", t.name, n_dims, kMaxDims));
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      CMDAI_ASSIGN_OR_RETURN(uint64_t dim, read<uint64_t>("tensor dimension"));
      if (dim == 0 || dim > (1ull << 40) || n_elements > (1ull << 50) / dim) {
        return corrupt(
            fmt::format("tensor '{}' has impossible dimension {} (dimension {})", t.name, dim, d));
      }
      n_elements *= dim;
      t.ne.push_back(static_cast<int64_t>(dim));
    }
    t.n_elements = static_cast<int64_t>(n_elements);
    CMDAI_ASSIGN_OR_RETURN(uint32_t raw_type, read<uint32_t>("tensor type"));
    auto traits = type_traits(raw_type);
    if (!traits) {
      return make_error(ErrorCode::kUnsupported,
                        "model file '{}': tensor '{}' has unknown type id {}", name_, t.name,
                        raw_type);
    }
    t.type = traits->type;
    auto row = row_bytes(t.type, t.ne[0]);
    if (!row) {
      return corrupt(fmt::format(
          "tensor '{}' of type {} has row length {}, not a multiple of its block size {}", t.name,
          traits->name, t.ne[0], traits->block_elements));
    }
    t.size_bytes = *row * static_cast<uint64_t>(t.rows());
    CMDAI_ASSIGN_OR_RETURN(t.offset, read<uint64_t>("tensor offset"));
    if (!names.insert(t.name).second)
      return corrupt(fmt::format("tensor '{}' appears twice", t.name));
    file.tensors_.push_back(std::move(t));
  }
  return ok_status();
}

Status Parser::place_tensors(GgufFile& file) {
  const uint64_t align = file.alignment_;
  uint64_t data_offset = (pos_ + align - 1) / align * align;
  if (data_offset > bytes_.size() && !file.tensors_.empty()) {
    return truncated("tensor data section", data_offset - pos_);
  }
  file.data_offset_ = data_offset;
  // Sort by offset to check that tensors do not overlap.
  std::vector<TensorInfo*> by_offset;
  for (auto& t : file.tensors_) {
    if (t.offset % align != 0) {
      return corrupt(
          fmt::format("tensor '{}' offset {} is not aligned to {}", t.name, t.offset, align));
    }
    const uint64_t available = bytes_.size() - data_offset;
    if (t.offset > available || t.size_bytes > available - t.offset) {
      return make_error(
          ErrorCode::kCorruptFile,
          "model file '{}' is truncated: tensor '{}' needs {} bytes at offset {}, the file "
          "has {} (download it again)",
          name_, t.name, t.size_bytes, data_offset + t.offset, bytes_.size());
    }
    t.data = bytes_.data() + data_offset + t.offset;
    t.offset += data_offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    if (prev.offset + prev.size_bytes > by_offset[i]->offset) {
      return corrupt(fmt::format("tensors '{}' and '{}' overlap", prev.name, by_offset[i]->name));
    }
  }
  return ok_status();
}

Status Parser::parse(GgufFile& file) {
  CMDAI_ASSIGN_OR_RETURN(uint32_t magic, read<uint32_t>("GGUF magic"));
  if (magic != kMagic) {
    return make_error(ErrorCode::kCorruptFile, "'{}' is not a GGUF model file (bad magic 0x{:08x})",
                      name_, magic);
  }
  CMDAI_ASSIGN_OR_RETURN(file.version_, read<uint32_t>("GGUF version"));
  if (file.version_ != 2 && file.version_ != 3) {
    return make_error(ErrorCode::kUnsupported,
                      "model file '{}' has GGUF version {}; cmdai reads versions 2 and 3", name_,
                      file.version_);
  }
  CMDAI_ASSIGN_OR_RETURN(uint64_t n_tensors, read<uint64_t>("tensor count"));
  CMDAI_ASSIGN_OR_RETURN(uint64_t n_kv, read<uint64_t>("metadata count"));
  if (n_tensors > kMaxTensors) return corrupt(fmt::format("absurd tensor count {}", n_tensors));
  if (n_kv > kMaxKeys) return corrupt(fmt::format("absurd metadata count {}", n_kv));
  CMDAI_TRY(parse_metadata(file, n_kv));
  CMDAI_TRY(parse_tensor_table(file, n_tensors));
  return place_tensors(file);
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  CMDAI_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  auto mapping = std::make_shared<MappedFile>(std::move(mapped));
  CMDAI_ASSIGN_OR_RETURN(GgufFile file, parse(mapping->bytes(), path));
  file.mapping_ = std::move(mapping);
  return file;
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, const std::string& name) {
  GgufFile file;
  file.bytes_ = bytes;
  file.name_ = name;
  Parser parser(bytes, file.name_);
  CMDAI_TRY(parser.parse(file));
  return file;
}

void GgufFile::populate_in_background() const {
  if (mapping_) mapping_->populate_in_background();
}

void GgufFile::close() {
  tensors_.clear();
  metadata_.clear();
  bytes_ = {};
  mapping_.reset();
}

const Value* GgufFile::find(std::string_view key) const {
  for (const auto& e : metadata_) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

namespace {

Error wrong_type(const std::string& file, std::string_view key, ValueType got, const char* want) {
  return make_error(ErrorCode::kCorruptFile, "model file '{}': key '{}' is {}, expected {}", file,
                    key, value_type_name(got), want);
}

Error missing(const std::string& file, std::string_view key) {
  return make_error(ErrorCode::kNotFound, "model file '{}' has no metadata key '{}'", file, key);
}

}  // namespace

Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type != ValueType::kString) return wrong_type(name_, key, v->type, "a string");
  return v->string;
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (!is_integer(v->type)) return wrong_type(name_, key, v->type, "an integer");
  return v->integer;
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type == ValueType::kFloat32 || v->type == ValueType::kFloat64) return v->real;
  if (is_integer(v->type)) return static_cast<double>(v->integer);
  return wrong_type(name_, key, v->type, "a number");
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type != ValueType::kBool) return wrong_type(name_, key, v->type, "a bool");
  return v->boolean;
}

Result<const std::vector<std::string_view>*> GgufFile::get_string_array(
    std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type != ValueType::kArray || v->element_type != ValueType::kString) {
    return wrong_type(name_, key, v->type, "an array of strings");
  }
  return &v->strings;
}

Result<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type != ValueType::kArray || !is_integer(v->element_type)) {
    return wrong_type(name_, key, v->type, "an array of integers");
  }
  std::vector<int64_t> out(v->count);
  const size_t size = scalar_size(v->element_type);
  for (uint64_t i = 0; i < v->count; ++i) {
    const uint8_t* p = v->array_data + i * size;
    switch (v->element_type) {
      case ValueType::kUint8:
        out[i] = load_le<uint8_t>(p);
        break;
      case ValueType::kInt8:
        out[i] = load_le<int8_t>(p);
        break;
      case ValueType::kUint16:
        out[i] = load_le<uint16_t>(p);
        break;
      case ValueType::kInt16:
        out[i] = load_le<int16_t>(p);
        break;
      case ValueType::kUint32:
        out[i] = load_le<uint32_t>(p);
        break;
      case ValueType::kInt32:
        out[i] = load_le<int32_t>(p);
        break;
      case ValueType::kUint64:
        out[i] = static_cast<int64_t>(load_le<uint64_t>(p));
        break;
      default:
        out[i] = load_le<int64_t>(p);
        break;
    }
  }
  return out;
}

Result<std::vector<float>> GgufFile::get_float_array(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (v->type != ValueType::kArray ||
      (v->element_type != ValueType::kFloat32 && v->element_type != ValueType::kFloat64)) {
    return wrong_type(name_, key, v->type, "an array of floats");
  }
  std::vector<float> out(v->count);
  for (uint64_t i = 0; i < v->count; ++i) {
    out[i] = v->element_type == ValueType::kFloat32
                 ? load_le<float>(v->array_data + i * 4)
                 : static_cast<float>(load_le<double>(v->array_data + i * 8));
  }
  return out;
}

Result<int64_t> GgufFile::get_int_or(std::string_view key, int64_t fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_int(key);
}

Result<double> GgufFile::get_float_or(std::string_view key, double fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_float(key);
}

Result<bool> GgufFile::get_bool_or(std::string_view key, bool fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_bool(key);
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<const TensorInfo*> GgufFile::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (t == nullptr) {
    return make_error(ErrorCode::kNotFound, "model file '{}' has no tensor '{}'", name_, name);
  }
  return t;
}

std::string GgufFile::architecture() const {
  auto arch = get_string("general.architecture");
  return arch.ok() ? std::string(*arch) : std::string();
}

}  // namespace cmdai::gguf
