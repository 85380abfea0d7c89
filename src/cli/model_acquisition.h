// Finds the model file for a request: a path, a cached catalog model, or the catalog model pulled
// now (first use), after saying what and how big. Offline, the error names the model, the cache
// path and the --model way out.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace cmdai::cli {

struct AcquiredModel {
  std::filesystem::path path;
  std::string name;  // catalog name or file name
};

Result<AcquiredModel> acquire_model(const std::string& name_or_path, const std::atomic<bool>* cancel);

}  // namespace cmdai::cli
