#include "cli/download_progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli/terminal.h"

namespace cmdai::cli {

std::string format_bytes(uint64_t bytes) {
  const double value = static_cast<double>(bytes);
  if (value >= 1e9) return fmt::format("{:.1f} GB", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f} MB", value / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f} kB", value / 1e3);
  return fmt::format("{} B", bytes);
}

std::string progress_line(const catalog::DownloadProgress& progress) {
  constexpr int kBarWidth = 24;
  const std::string speed = format_bytes(static_cast<uint64_t>(progress.bytes_per_second)) + "/s";
  if (progress.total_bytes == 0) {
    return fmt::format("{:>10}  {}", format_bytes(progress.done_bytes), speed);
  }
  const double fraction =
      std::min(1.0, static_cast<double>(progress.done_bytes) / progress.total_bytes);
  const int filled = static_cast<int>(fraction * kBarWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kBarWidth) bar += '>';
  bar.resize(kBarWidth, ' ');
  std::string eta;
  if (progress.bytes_per_second > 0 && progress.done_bytes < progress.total_bytes) {
    const auto seconds = static_cast<uint64_t>((progress.total_bytes - progress.done_bytes) /
                                               progress.bytes_per_second);
    eta = fmt::format("  {}:{:02} left", seconds / 60, seconds % 60);
  }
  return fmt::format("[{}] {:3}%  {} / {}  {}{}", bar, static_cast<int>(fraction * 100),
                     format_bytes(progress.done_bytes), format_bytes(progress.total_bytes), speed,
                     eta);
}

ProgressBar::ProgressBar() : enabled_(stderr_is_terminal()) {}

void ProgressBar::update(const catalog::DownloadProgress& progress) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool complete = progress.total_bytes > 0 && progress.done_bytes >= progress.total_bytes;
  if (complete && drew_complete_) return;
  if (!complete && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  drew_complete_ = complete;
  last_draw_ = now;
  drawn_ = true;
  // \033[K clears what a longer previous line left behind.
  fmt::print(stderr, "\r{}\033[K", progress_line(progress));
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (drawn_) fmt::print(stderr, "\n");
  drawn_ = false;
}

}  // namespace cmdai::cli
