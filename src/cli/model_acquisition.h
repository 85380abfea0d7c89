// Finds the model file for a request: a path, a cached model, or the catalog model pulled now
// (first use) once the user said yes on the terminal to its size and folder. Without a terminal
// nothing is downloaded: kNotFound naming `cmdai model pull`; a "no" is kCancelled. Offline, the
// error names the model, the cache path and the --model way out.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include "base/result.h"
#include "catalog/download.h"

namespace cmdai::cli {

struct AcquiredModel {
  std::filesystem::path path;
  std::string name;  // catalog name or file name
};

// What every model download gets: the body must start with the GGUF magic (an HTML page is
// refused at its first bytes), and the complete file must open as GGUF (header, tensor table,
// every tensor inside the file) before it replaces anything.
void add_gguf_checks(catalog::DownloadOptions& options);

// The same check for a file already in place; the gguf reader's error (kCorruptFile for a
// truncated file) when it fails.
Status check_gguf_file(const std::filesystem::path& path);

// With may_download false, a catalog model not downloaded yet is kNotFound without a question
// (remote.fallback has a server to ask instead).
Result<AcquiredModel> acquire_model(const std::string& name_or_path,
                                    const std::atomic<bool>* cancel, bool may_download = true);

}  // namespace cmdai::cli
