#include "gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

#include "base/mapped_file.h"

namespace cmdai::gguf {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = 1u << 20;  // what the reader accepts
constexpr std::string_view kAlignmentKey = "general.alignment";

// Appends the little-endian bytes of a scalar (x86-64 and arm64 are little-endian).
template <typename T>
void append(std::vector<uint8_t>& out, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.insert(out.end(), raw, raw + sizeof(T));
}

void append_type(std::vector<uint8_t>& out, ValueType type) {
  append<uint32_t>(out, static_cast<uint32_t>(type));
}

void append_string(std::vector<uint8_t>& out, std::string_view s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
}

size_t scalar_bytes(ValueType type) {
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

// The payload of a scalar value (everything after its type id), or false for a non-scalar type.
bool append_scalar(std::vector<uint8_t>& out, const Value& v) {
  switch (v.type) {
    case ValueType::kUint8:
      append<uint8_t>(out, static_cast<uint8_t>(v.integer));
      return true;
    case ValueType::kInt8:
      append<int8_t>(out, static_cast<int8_t>(v.integer));
      return true;
    case ValueType::kUint16:
      append<uint16_t>(out, static_cast<uint16_t>(v.integer));
      return true;
    case ValueType::kInt16:
      append<int16_t>(out, static_cast<int16_t>(v.integer));
      return true;
    case ValueType::kUint32:
      append<uint32_t>(out, static_cast<uint32_t>(v.integer));
      return true;
    case ValueType::kInt32:
      append<int32_t>(out, static_cast<int32_t>(v.integer));
      return true;
    case ValueType::kInt64:
      append<int64_t>(out, v.integer);
      return true;
    case ValueType::kUint64: {
      // The reader keeps values above INT64_MAX only in `uinteger`.
      const bool big = v.uinteger > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      append<uint64_t>(out, big ? v.uinteger : static_cast<uint64_t>(v.integer));
      return true;
    }
    case ValueType::kFloat32:
      append<float>(out, static_cast<float>(v.real));
      return true;
    case ValueType::kFloat64:
      append<double>(out, v.real);
      return true;
    case ValueType::kBool:
      append<uint8_t>(out, v.boolean ? 1 : 0);
      return true;
    default:
      return false;
  }
}

// Tensor data bytes implied by type and shape; nullopt for an impossible shape.
std::optional<uint64_t> expected_bytes(TensorType type, const std::vector<int64_t>& ne) {
  if (ne.empty() || ne.size() > 4) return std::nullopt;
  uint64_t rows = 1;
  for (size_t i = 0; i < ne.size(); ++i) {
    if (ne[i] <= 0) return std::nullopt;
    if (i > 0) {
      if (rows > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(ne[i]))
        return std::nullopt;
      rows *= static_cast<uint64_t>(ne[i]);
    }
  }
  auto row = row_bytes(type, ne[0]);
  if (!row || (*row != 0 && rows > std::numeric_limits<uint64_t>::max() / *row))
    return std::nullopt;
  return *row * rows;
}

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

void GgufWriter::put(std::string_view key, std::vector<uint8_t> encoded) {
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.encoded = std::move(encoded);
      return;
    }
  }
  entries_.push_back(Entry{std::string(key), std::move(encoded)});
}

void GgufWriter::set_u32(std::string_view key, uint32_t value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kUint32);
  append(e, value);
  put(key, std::move(e));
}

void GgufWriter::set_i32(std::string_view key, int32_t value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kInt32);
  append(e, value);
  put(key, std::move(e));
}

void GgufWriter::set_u64(std::string_view key, uint64_t value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kUint64);
  append(e, value);
  put(key, std::move(e));
}

void GgufWriter::set_f32(std::string_view key, float value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kFloat32);
  append(e, value);
  put(key, std::move(e));
}

void GgufWriter::set_bool(std::string_view key, bool value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kBool);
  append<uint8_t>(e, value ? 1 : 0);
  put(key, std::move(e));
}

void GgufWriter::set_string(std::string_view key, std::string_view value) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kString);
  append_string(e, value);
  put(key, std::move(e));
}

void GgufWriter::set_string_array(std::string_view key, const std::vector<std::string>& values) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kArray);
  append_type(e, ValueType::kString);
  append<uint64_t>(e, values.size());
  for (const std::string& s : values) append_string(e, s);
  put(key, std::move(e));
}

void GgufWriter::set_i32_array(std::string_view key, const std::vector<int32_t>& values) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kArray);
  append_type(e, ValueType::kInt32);
  append<uint64_t>(e, values.size());
  for (int32_t v : values) append(e, v);
  put(key, std::move(e));
}

void GgufWriter::set_f32_array(std::string_view key, const std::vector<float>& values) {
  std::vector<uint8_t> e;
  append_type(e, ValueType::kArray);
  append_type(e, ValueType::kFloat32);
  append<uint64_t>(e, values.size());
  for (float v : values) append(e, v);
  put(key, std::move(e));
}

void GgufWriter::set_value(std::string_view key, const Value& value) {
  std::vector<uint8_t> e;
  append_type(e, value.type);
  if (value.type == ValueType::kString) {
    append_string(e, value.string);
  } else if (value.type == ValueType::kArray) {
    append_type(e, value.element_type);
    append<uint64_t>(e, value.count);
    const size_t elem = scalar_bytes(value.element_type);
    if (value.element_type == ValueType::kString && value.strings.size() == value.count) {
      for (std::string_view s : value.strings) append_string(e, s);
    } else if (elem != 0 && (value.array_data != nullptr || value.count == 0)) {
      e.insert(e.end(), value.array_data, value.array_data + value.count * elem);
    } else {
      // Nested or malformed arrays have no encoding; to_bytes() reports them.
      invalid_.push_back(fmt::format("key '{}' holds an array of {} that cannot be written", key,
                                     value_type_name(value.element_type)));
      return;
    }
  } else if (!append_scalar(e, value)) {
    invalid_.push_back(
        fmt::format("key '{}' has unknown value type {}", key, static_cast<uint32_t>(value.type)));
    return;
  }
  put(key, std::move(e));
}

void GgufWriter::add_tensor(std::string_view name, TensorType type, std::vector<int64_t> ne,
                            std::vector<uint8_t> data) {
  tensors_.push_back(Tensor{std::string(name), type, std::move(ne), std::move(data)});
}

Status GgufWriter::validate() const {
  if (!invalid_.empty())
    return make_error(ErrorCode::kInvalidArgument, "GGUF writer: {}", invalid_[0]);
  if (alignment_ < 8 || (alignment_ & (alignment_ - 1)) != 0 || alignment_ > kMaxAlignment) {
    return make_error(ErrorCode::kInvalidArgument,
                      "GGUF writer: alignment {} is not a power of two from 8 up to {}", alignment_,
                      kMaxAlignment);
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    if (!type_traits(static_cast<uint32_t>(t.type))) {
      return make_error(ErrorCode::kInvalidArgument,
                        "GGUF writer: tensor '{}' has unknown type id {}", t.name,
                        static_cast<uint32_t>(t.type));
    }
    auto want = expected_bytes(t.type, t.ne);
    if (!want) {
      return make_error(ErrorCode::kInvalidArgument,
                        "GGUF writer: tensor '{}' of type {} has invalid shape {} (1 to 4 positive "
                        "dimensions, row length a multiple of the block size)",
                        t.name, type_name(t.type), shape_string(t.ne));
    }
    if (*want != t.data.size()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "GGUF writer: tensor '{}' of type {} and shape {} needs {} bytes, got {}",
                        t.name, type_name(t.type), shape_string(t.ne), *want, t.data.size());
    }
    for (size_t j = 0; j < i; ++j) {
      if (tensors_[j].name == t.name) {
        return make_error(ErrorCode::kInvalidArgument, "GGUF writer: tensor '{}' added twice",
                          t.name);
      }
    }
  }
  return ok_status();
}

// A non-default alignment must be recorded in the file or readers would look in the wrong place.
Result<std::vector<uint8_t>> GgufWriter::alignment_entry() const {
  std::vector<uint8_t> encoded;
  append_type(encoded, ValueType::kUint32);
  append<uint32_t>(encoded, static_cast<uint32_t>(alignment_));
  for (const Entry& e : entries_) {
    if (e.key != kAlignmentKey) continue;
    if (e.encoded != encoded) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "GGUF writer: metadata general.alignment disagrees with the writer's alignment "
          "{} (pass the alignment to the constructor)",
          alignment_);
    }
    return std::vector<uint8_t>();  // already among the entries
  }
  if (alignment_ == kDefaultAlignment) return std::vector<uint8_t>();
  return encoded;
}

Result<std::vector<uint8_t>> GgufWriter::to_bytes() const {
  CMDAI_TRY(validate());
  CMDAI_ASSIGN_OR_RETURN(std::vector<uint8_t> alignment_entry, this->alignment_entry());

  std::vector<uint8_t> out;
  append<uint32_t>(out, kMagic);
  append<uint32_t>(out, kVersion);
  append<uint64_t>(out, tensors_.size());
  append<uint64_t>(out, entries_.size() + (alignment_entry.empty() ? 0 : 1));
  for (const Entry& e : entries_) {
    append_string(out, e.key);
    out.insert(out.end(), e.encoded.begin(), e.encoded.end());
  }
  if (!alignment_entry.empty()) {
    append_string(out, kAlignmentKey);
    out.insert(out.end(), alignment_entry.begin(), alignment_entry.end());
  }
  uint64_t offset = 0;  // relative to the start of the data section
  for (const Tensor& t : tensors_) {
    append_string(out, t.name);
    append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) append<uint64_t>(out, static_cast<uint64_t>(d));
    append<uint32_t>(out, static_cast<uint32_t>(t.type));
    append<uint64_t>(out, offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  pad_to(out, alignment_);
  out.reserve(out.size() + offset);
  for (const Tensor& t : tensors_) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    pad_to(out, alignment_);
  }
  return out;
}

namespace {

Error write_error(const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return make_error(ErrorCode::kResourceExhausted,
                      "cannot write model file '{}': {} (free some disk space and try again)", path,
                      std::strerror(err));
  }
  return make_error(ErrorCode::kIo, "cannot write model file '{}': {}", path, std::strerror(err));
}

// Writes every byte or reports why not; a write that makes no progress means the disk is full.
Status write_all(int fd, const std::vector<uint8_t>& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return write_error(path, errno);
    if (n == 0) return write_error(path, ENOSPC);
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

// Makes the rename itself durable; failure here is not worth failing the write for.
void sync_parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  const int dir_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

Status GgufWriter::write(const std::string& path) const {
  CMDAI_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, to_bytes());
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return write_error(tmp, errno);
  Status status = write_all(fd, bytes, tmp);
  if (status.ok() && ::fsync(fd) != 0) status = write_error(tmp, errno);
  if (status.ok()) release_written_pages(fd, bytes.size());
  if (::close(fd) != 0 && status.ok()) status = write_error(tmp, errno);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = write_error(path, errno);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  sync_parent_dir(path);
  return ok_status();
}

}  // namespace cmdai::gguf
