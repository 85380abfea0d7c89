#include "catalog/catalog.h"

#include <cctype>
#include <fstream>
#include <system_error>

#include "catalog/paths.h"
#include "catalog/sha256.h"

namespace cmdai::catalog {
namespace {

ModelEntry hugging_face_entry(std::string name, std::string description, std::string repo,
                              std::string file_name, uint64_t size_bytes) {
  ModelEntry entry;
  entry.name = std::move(name);
  entry.description = std::move(description);
  entry.url = "https://huggingface.co/" + repo + "/resolve/main/" + file_name;
  entry.repo = std::move(repo);
  entry.file_name = std::move(file_name);
  entry.size_bytes = size_bytes;
  return entry;
}

std::vector<ModelEntry> build_catalog() {
  // Sizes are the file sizes Hugging Face shows, rounded. The hashes are empty: their published
  // values could not be looked up when this was written (docs/MODELS.md), and an empty hash means
  // "not verified", where a guessed one would refuse every good download.
  return {
      hugging_face_entry(std::string(kDefaultModelName),
                         "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default: good commands, ~1 GB RAM)",
                         "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                         "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1'120'000'000),
      hugging_face_entry("qwen2.5-coder-1.5b-q8_0",
                         "Qwen2.5-Coder-1.5B-Instruct, Q8_0 (closer to full precision, ~1.9 GB)",
                         "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                         "qwen2.5-coder-1.5b-instruct-q8_0.gguf", 1'890'000'000),
      hugging_face_entry("qwen2.5-coder-0.5b-q4_k_m",
                         "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (smallest and fastest, weaker)",
                         "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                         "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 398'000'000),
      hugging_face_entry("qwen2.5-coder-3b-q4_k_m",
                         "Qwen2.5-Coder-3B-Instruct, Q4_K_M (better answers, ~2x slower)",
                         "Qwen/Qwen2.5-Coder-3B-Instruct-GGUF",
                         "qwen2.5-coder-3b-instruct-q4_k_m.gguf", 2'100'000'000),
  };
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool ends_with_gguf(std::string_view text) {
  return text.size() >= 5 && equals_ignoring_case(text.substr(text.size() - 5), ".gguf");
}

std::string known_names() {
  std::string names;
  for (const ModelEntry& entry : known_models()) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

}  // namespace

const std::vector<ModelEntry>& known_models() {
  static const std::vector<ModelEntry> catalog = build_catalog();
  return catalog;
}

const ModelEntry& default_model() { return *find_model(kDefaultModelName); }

const ModelEntry* find_model(std::string_view name) {
  for (const ModelEntry& entry : known_models()) {
    if (equals_ignoring_case(entry.name, name)) return &entry;
  }
  return nullptr;
}

std::filesystem::path cached_path(const ModelEntry& entry) {
  return models_dir() / entry.file_name;
}

std::filesystem::path recorded_sha256_path(const std::filesystem::path& model_file) {
  std::filesystem::path path = model_file;
  path += ".sha256";
  return path;
}

std::string read_recorded_sha256(const std::filesystem::path& model_file) {
  std::ifstream in(recorded_sha256_path(model_file));
  std::string hex;
  if (!(in >> hex) || !is_sha256_hex(hex)) return {};
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hex;
}

Status write_recorded_sha256(const std::filesystem::path& model_file, std::string_view hex) {
  const std::filesystem::path target = recorded_sha256_path(model_file);
  std::filesystem::path temporary = target;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << hex << "  " << model_file.filename().string() << "\n";
    if (!out.flush()) {
      return make_error(ErrorCode::kIo, "cannot write {}", temporary.string());
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, target, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot write {}: {}", target.string(), ec.message());
  return ok_status();
}

Result<ResolvedModel> resolve_model(std::string_view name_or_path) {
  if (name_or_path.empty()) name_or_path = kDefaultModelName;
  const bool looks_like_path =
      ends_with_gguf(name_or_path) || name_or_path.find('/') != std::string_view::npos;
  std::error_code ec;
  const std::filesystem::path as_path(name_or_path);
  if (looks_like_path && std::filesystem::is_regular_file(as_path, ec)) {
    return ResolvedModel{as_path, nullptr, true};
  }
  if (const ModelEntry* entry = find_model(name_or_path)) {
    std::filesystem::path path = cached_path(*entry);
    const bool exists = std::filesystem::is_regular_file(path, ec);
    return ResolvedModel{std::move(path), entry, exists};
  }
  // A file in the cache by its file name: how `cmdai model list` shows a model pulled from a URL.
  if (name_or_path.find('/') == std::string_view::npos && name_or_path != "." &&
      name_or_path != "..") {
    std::filesystem::path cached = models_dir() / std::string(name_or_path);
    if (std::filesystem::is_regular_file(cached, ec)) {
      return ResolvedModel{std::move(cached), nullptr, true};
    }
  }
  if (looks_like_path) {
    if (std::filesystem::exists(as_path, ec)) {
      return make_error(ErrorCode::kInvalidArgument, "model path {} is not a regular file",
                        as_path.string());
    }
    return make_error(ErrorCode::kNotFound, "model file {} does not exist (known model names: {})",
                      as_path.string(), known_names());
  }
  // A name that is neither known nor a path is a usage error (exit 2), not a missing file.
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown model '{}': use one of {} (see `cmdai model list`) or a path to a "
                    ".gguf file",
                    name_or_path, known_names());
}

Result<std::string> file_name_from_url(std::string_view url) {
  const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!http) {
    return make_error(ErrorCode::kInvalidArgument, "'{}' is not an http:// or https:// URL", url);
  }
  std::string_view rest = url.substr(url.find("//") + 2);
  rest = rest.substr(0, rest.find_first_of("?#"));
  const size_t slash = rest.rfind('/');
  std::string_view name = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return make_error(ErrorCode::kInvalidArgument,
                      "URL {} does not end in a file name to save the model as", url);
  }
  // `cmdai model list` shows the cache's .gguf files; a model saved under another name would be
  // there but invisible.
  if (!ends_with_gguf(name)) return std::string(name) + ".gguf";
  return std::string(name);
}

}  // namespace cmdai::catalog
