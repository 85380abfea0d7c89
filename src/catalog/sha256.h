// Streaming SHA-256 (OpenSSL EVP) for verifying downloaded models.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cmdai::catalog {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void reset();
  void update(const void* data, size_t size_bytes);
  // Lowercase hex of everything fed since the last reset(); the state is reset afterwards.
  std::string finish_hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Lowercase hex SHA-256 of a whole file, read in chunks.
Result<std::string> sha256_file_hex(const std::filesystem::path& file);

// True for 64 hex digits (either case).
bool is_sha256_hex(std::string_view text);

// Case-insensitive comparison of two hex digests.
bool sha256_equal(std::string_view a, std::string_view b);

}  // namespace cmdai::catalog
