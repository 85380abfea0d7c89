#include "device/mlx/weight_cache_pruning.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace cmdai::mlx_device {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".mlxw";
constexpr std::string_view kTmpInfix = ".mlxw.tmp.";

std::optional<uint64_t> parse_number(std::string_view digits) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return n;
}

// The N of "<16 hex digits>.v<N>.mlxw", or nullopt for any other name.
std::optional<uint64_t> cache_version(std::string_view name) {
  if (name.size() < 16 + 2 + kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  if (!std::all_of(name.begin(), name.begin() + 16,
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }) ||
      name.substr(16, 2) != ".v") {
    return std::nullopt;
  }
  return parse_number(name.substr(18, name.size() - 18 - kSuffix.size()));
}

// A temporary file's writer: the pid after ".mlxw.tmp.", or nullopt for any other name.
std::optional<uint64_t> temporary_writer(std::string_view name) {
  const size_t at = name.find(kTmpInfix);
  if (at == std::string_view::npos || !cache_version(name.substr(0, at + kSuffix.size()))) {
    return std::nullopt;
  }
  return parse_number(name.substr(at + kTmpInfix.size()));
}

bool process_alive(uint64_t pid) {
  if (pid == 0 || pid > static_cast<uint64_t>(INT32_MAX)) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

void mark_weight_cache_used(const std::string& path) {
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // best effort
}

std::vector<std::string> prune_weight_caches(const std::string& dir,
                                             const std::string& just_written, uint32_t version,
                                             size_t keep) {
  std::vector<std::string> removed;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  const fs::path written = fs::path(just_written).filename();
  struct Current {
    fs::path path;
    fs::file_time_type used;
  };
  std::vector<Current> current;
  const auto remove = [&removed](const fs::path& path) {
    std::error_code gone;
    if (fs::remove(path, gone)) removed.push_back(path.string());
  };
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code stat_error;
    if (!it->is_regular_file(stat_error)) continue;
    const fs::path path = it->path();
    const std::string name = path.filename().string();
    const fs::file_time_type modified = it->last_write_time(stat_error);
    if (stat_error) continue;
    if (const auto writer = temporary_writer(name)) {
      if (!process_alive(*writer) || now - modified > std::chrono::hours(24)) remove(path);
      continue;
    }
    const auto file_version = cache_version(name);
    if (!file_version) continue;  // not ours
    if (*file_version != version) {
      remove(path);
    } else if (path.filename() != written) {
      current.push_back({path, modified});
    }
  }
  // The just-written file is one of the `keep`; the others are the most recently used.
  const size_t others = keep > 0 ? keep - 1 : 0;
  if (current.size() > others) {
    std::sort(current.begin(), current.end(),
              [](const Current& a, const Current& b) { return a.used > b.used; });
    for (size_t i = others; i < current.size(); ++i) remove(current[i].path);
  }
  return removed;
}

}  // namespace cmdai::mlx_device
