#include "base/testdata.h"

#include <cstdlib>

namespace cmdai {

std::optional<std::filesystem::path> find_testdata_dir(const std::string& source_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* env = std::getenv("CMDAI_TESTDATA"); env != nullptr && *env != '\0') {
    if (fs::is_directory(env, ec)) return fs::path(env);
    return std::nullopt;
  }
  const fs::path candidate = fs::path(source_dir) / ".." / "shared" / "testdata";
  if (fs::is_directory(candidate, ec)) return fs::weakly_canonical(candidate, ec);
  return std::nullopt;
}

}  // namespace cmdai
