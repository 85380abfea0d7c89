#include "cli/spinner.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "cli/terminal.h"

namespace cmdai::cli {
namespace {

// ASCII frames: they draw the same in every locale and font.
constexpr std::string_view kFrames = "|/-\\";

}  // namespace

bool spinner_wanted(bool quiet, bool structured_output) {
  if (quiet || !stderr_is_terminal()) return false;
  if (structured_output && !stdout_is_terminal()) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

Spinner::Spinner(bool enabled, std::string label) : label_(std::move(label)) {
  if (!enabled) return;
  draw(0);
  thread_ = std::thread([this] { run(); });
}

Spinner::~Spinner() { stop(); }

void Spinner::draw(int frame) {
  fmt::print(stderr, "\r{} {}", kFrames[static_cast<size_t>(frame) % kFrames.size()], label_);
  std::fflush(stderr);
}

void Spinner::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (int frame = 1;; ++frame) {
    if (wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; })) return;
    draw(frame);
  }
}

void Spinner::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  fmt::print(stderr, "\r\033[K");  // back to the start of the line, erased
  std::fflush(stderr);
}

}  // namespace cmdai::cli
