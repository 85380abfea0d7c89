// For tests only: shared test-data files under GoogleTest, following base/testdata.h's rule
// (skip only when the whole folder is absent, fail when a file in it is missing or short).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "base/testdata.h"

namespace cmdai {

// The file's path; nullopt when the folder is absent (the caller skips, saying so). When the
// folder is there but the file is missing or shorter than min_bytes, also nullopt, after recording
// a failure that names the file: the caller's GTEST_SKIP then reports the test FAILED, not skipped.
inline std::optional<std::filesystem::path> require_testdata_file(const std::string& name,
                                                                  uintmax_t min_bytes = 1) {
  const TestdataFile file = find_testdata_file(CMDAI_SOURCE_DIR, name, min_bytes);
  if (file.status == TestdataFile::Status::kFound) return file.path;
  if (file.status == TestdataFile::Status::kMissing) ADD_FAILURE() << file.message;
  return std::nullopt;
}

}  // namespace cmdai
