#include "catalog/paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace cmdai::catalog {
namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::filesystem::path home_dir() {
  std::string home = env_or_empty("HOME");
  if (!home.empty()) return home;
  // Services and `env -i` run without HOME; the password database still knows.
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  return std::filesystem::temp_directory_path();
}

// XDG says relative values are invalid and must be ignored.
std::filesystem::path xdg_dir(const char* variable, const char* fallback_under_home) {
  std::filesystem::path value = env_or_empty(variable);
  if (!value.empty() && value.is_absolute()) return value;
  return home_dir() / fallback_under_home;
}

}  // namespace

std::filesystem::path config_dir() {
  std::string override_dir = env_or_empty("CMDAI_CONFIG_DIR");
  if (!override_dir.empty()) return override_dir;
  return xdg_dir("XDG_CONFIG_HOME", ".config") / "cmdai";
}

std::filesystem::path cache_dir() {
  std::string override_dir = env_or_empty("CMDAI_CACHE_DIR");
  if (!override_dir.empty()) return override_dir;
  return xdg_dir("XDG_CACHE_HOME", ".cache") / "cmdai";
}

std::filesystem::path models_dir() { return cache_dir() / "models"; }

}  // namespace cmdai::catalog
