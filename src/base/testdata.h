// Where the shared test data lives: $CMDAI_TESTDATA, else ../shared/testdata beside the checkout.
// Tests skip, saying so, only when the whole folder is absent; a file missing from a present
// folder, or shorter than a test needs, is a broken copy of the data and must fail the test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace cmdai {

// Returns the folder if it exists. `source_dir` is the repository root (tests pass
// CMDAI_SOURCE_DIR).
std::optional<std::filesystem::path> find_testdata_dir(const std::string& source_dir);

// One file of the folder, as a test looks it up.
struct TestdataFile {
  enum class Status { kFound, kNoFolder, kMissing };
  Status status = Status::kNoFolder;
  std::filesystem::path path;  // kFound: the file
  std::string message;         // otherwise: what is absent, and what to do
};

// `name` is relative to the folder ("golden/x.json"); kMissing when the folder is there but the
// file is not, or has fewer than min_bytes bytes.
TestdataFile find_testdata_file(const std::string& source_dir, const std::string& name,
                                uintmax_t min_bytes = 1);

}  // namespace cmdai
