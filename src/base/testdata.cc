#include "base/testdata.h"

#include <fmt/format.h>

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

TestdataFile find_testdata_file(const std::string& source_dir, const std::string& name,
                                uintmax_t min_bytes) {
  namespace fs = std::filesystem;
  TestdataFile file;
  const std::optional<fs::path> dir = find_testdata_dir(source_dir);
  if (!dir) {
    file.message = "shared testdata not found (set CMDAI_TESTDATA): skipping";
    return file;
  }
  file.path = *dir / name;
  std::error_code ec;
  const uintmax_t size = fs::is_regular_file(file.path, ec) ? fs::file_size(file.path, ec) : 0;
  if (!ec && size >= min_bytes && size > 0) {
    file.status = TestdataFile::Status::kFound;
    return file;
  }
  file.status = TestdataFile::Status::kMissing;
  file.message = size == 0 ? fmt::format(
                                 "test data file '{}' is missing from {} (copy the whole "
                                 "folder again: see its README.md)",
                                 name, dir->string())
                           : fmt::format(
                                 "test data file '{}' in {} has {} bytes, fewer than the "
                                 "{} the test needs (copy it again: see its README.md)",
                                 name, dir->string(), size, min_bytes);
  return file;
}

}  // namespace cmdai
