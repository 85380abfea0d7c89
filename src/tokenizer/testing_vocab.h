// Test support: writes small in-memory GGUF files holding only tokenizer metadata, so tests can
// build valid and deliberately broken vocabularies, and locates the shared test data.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/testdata.h"
#include "base/testdata_gtest.h"

namespace cmdai::tokenizer::testing {

// Metadata-only GGUF v3 bytes; keys are written in the order they are added.
class VocabGgufBuilder {
 public:
  VocabGgufBuilder& string(const std::string& key, const std::string& value) {
    begin(key, 8);
    put_string(value);
    return *this;
  }
  VocabGgufBuilder& u32(const std::string& key, uint32_t value) {
    begin(key, 4);
    put_scalar(value);
    return *this;
  }
  VocabGgufBuilder& boolean(const std::string& key, bool value) {
    begin(key, 7);
    put_scalar(static_cast<uint8_t>(value));
    return *this;
  }
  VocabGgufBuilder& strings(const std::string& key, const std::vector<std::string>& values) {
    begin_array(key, 8, values.size());
    for (const std::string& value : values) put_string(value);
    return *this;
  }
  VocabGgufBuilder& i32s(const std::string& key, const std::vector<int32_t>& values) {
    begin_array(key, 5, values.size());
    for (int32_t value : values) put_scalar(value);
    return *this;
  }
  VocabGgufBuilder& f32s(const std::string& key, const std::vector<float>& values) {
    begin_array(key, 6, values.size());
    for (float value : values) put_scalar(value);
    return *this;
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out;
    const auto append = [&](const void* data, size_t size) {
      const auto* p = static_cast<const uint8_t*>(data);
      out.insert(out.end(), p, p + size);
    };
    append("GGUF", 4);
    const uint32_t version = 3;
    const uint64_t n_tensors = 0;
    append(&version, 4);
    append(&n_tensors, 8);
    append(&n_entries_, 8);
    out.insert(out.end(), body_.begin(), body_.end());
    while (out.size() % 32 != 0) out.push_back(0);
    return out;
  }

 private:
  template <typename T>
  void put_scalar(T value) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    body_.insert(body_.end(), raw, raw + sizeof(T));
  }
  void put_string(const std::string& value) {
    put_scalar(static_cast<uint64_t>(value.size()));
    body_.insert(body_.end(), value.begin(), value.end());
  }
  void begin(const std::string& key, uint32_t type) {
    put_string(key);
    put_scalar(type);
    ++n_entries_;
  }
  void begin_array(const std::string& key, uint32_t element_type, size_t count) {
    begin(key, 9);
    put_scalar(element_type);
    put_scalar(static_cast<uint64_t>(count));
  }

  std::vector<uint8_t> body_;
  uint64_t n_entries_ = 0;
};

// Path of a file in the shared test data, or nullopt when the folder is absent (callers skip). A
// file missing from a present folder also gives nullopt, but records a failure first
// (base/testdata_gtest.h), so the caller's skip reports the test FAILED.
inline std::optional<std::string> testdata_file(const std::string& name) {
  const std::optional<std::filesystem::path> path = require_testdata_file(name);
  if (!path) return std::nullopt;
  return path->string();
}

}  // namespace cmdai::tokenizer::testing
