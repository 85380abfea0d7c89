// A spinner on stderr while the model works, so a slow first answer (loading the model, a cold
// prefix cache) does not look like a hang. It is erased before anything else is printed.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace cmdai::cli {

// Whether a request should show a spinner: stderr is a terminal that understands "erase line"
// (TERM is not dumb), the user did not ask for quiet, and structured output is not going to a
// pipe or file (a script is reading, and a person may not be watching).
bool spinner_wanted(bool quiet, bool structured_output);

class Spinner {
 public:
  // Draws the first frame at once (so even a fast answer is seen to have started), then one frame
  // every 100 ms from a thread of its own. Draws nothing when !enabled.
  Spinner(bool enabled, std::string label);
  ~Spinner();
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;

  // Stops and erases the line; calling it again does nothing.
  void stop();

 private:
  void draw(int frame);
  void run();

  std::string label_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cmdai::cli
