// Where the shared test data lives: $CMDAI_TESTDATA, else ../shared/testdata beside the checkout.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace cmdai {

// Returns the folder if it exists. `source_dir` is the repository root (tests pass CMDAI_SOURCE_DIR).
std::optional<std::filesystem::path> find_testdata_dir(const std::string& source_dir);

}  // namespace cmdai
