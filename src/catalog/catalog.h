// The models cmdai knows by name, where their files live in the cache, and how a
// "NAME or PATH" argument (--model, `cmdai model ...`) turns into a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cmdai::catalog {

inline constexpr std::string_view kDefaultModelName = "qwen2.5-coder-1.5b-q4_k_m";

struct ModelEntry {
  std::string name;         // what users type: qwen2.5-coder-1.5b-q4_k_m
  std::string description;  // one line for `cmdai model list`
  std::string repo;         // Hugging Face repository
  std::string file_name;    // file in the repository, and in the cache
  std::string url;          // https://huggingface.co/<repo>/resolve/main/<file_name>
  // Approximate (the catalog was written offline): used for listings and the free-space check
  // only when the server sends no Content-Length. Never used to accept or reject a file.
  uint64_t size_bytes = 0;
  // Lowercase hex; empty when not known for sure. Then `pull` records the hash it computed in
  // <file>.sha256 instead of verifying (see docs/MODELS.md).
  std::string sha256;
};

const std::vector<ModelEntry>& known_models();
const ModelEntry& default_model();

// nullptr when `name` is not in the catalog (exact, case-insensitive match).
const ModelEntry* find_model(std::string_view name);

// Where a catalog model lives once pulled: models_dir()/<file_name>.
std::filesystem::path cached_path(const ModelEntry& entry);

// <model file>.sha256: the hash recorded by `pull` ("<hex>  <file name>\n", sha256sum format).
std::filesystem::path recorded_sha256_path(const std::filesystem::path& model_file);
// The recorded hex digest, or an empty string when there is none or it is unreadable.
std::string read_recorded_sha256(const std::filesystem::path& model_file);
Status write_recorded_sha256(const std::filesystem::path& model_file, std::string_view hex);

struct ResolvedModel {
  std::filesystem::path path;         // the file to load; may not exist yet for a catalog model
  const ModelEntry* entry = nullptr;  // catalog entry, nullptr for a user-given path
  bool exists = false;                // `path` is a regular file now
};

// "" -> the default model. A path to an existing file wins over a catalog name when it ends in
// .gguf or contains a '/'; then catalog names; then a file in models_dir() by its file name (what
// `cmdai model list` shows for a model pulled from a URL). A name that is none of these is
// kInvalidArgument, a missing path kNotFound; both list the known names.
Result<ResolvedModel> resolve_model(std::string_view name_or_path);

// The file name a URL downloads to: its last path segment without query or fragment, with
// ".gguf" appended when it does not end in .gguf (so `cmdai model list` shows it).
// kInvalidArgument when the URL is not http(s) or names no file.
Result<std::string> file_name_from_url(std::string_view url);

}  // namespace cmdai::catalog
