// The one-line progress bar `cmdai model pull` draws on stderr while a model downloads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "catalog/download.h"

namespace cmdai::cli {

// "1.1 GB", "512.0 MB", "980 B": decimal units, as Hugging Face shows file sizes.
std::string format_bytes(uint64_t bytes);

// "[=========>          ]  45%  500.0 MB / 1.1 GB  12.3 MB/s  0:48 left"; width is fixed.
std::string progress_line(const catalog::DownloadProgress& progress);

// Redraws progress_line on stderr at most 10 times a second; draws nothing when stderr is not a
// terminal, so logs and pipes stay clean.
class ProgressBar {
 public:
  ProgressBar();
  void update(const catalog::DownloadProgress& progress);
  void finish();  // ends the line, if one was drawn

 private:
  bool enabled_;
  bool drawn_ = false;
  bool drew_complete_ = false;  // libcurl keeps reporting 100% until the connection closes
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace cmdai::cli
