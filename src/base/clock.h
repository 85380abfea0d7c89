// Monotonic time for timings and deadlines.
#pragma once

#include <chrono>

namespace cmdai {

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

// A point in time after which a request must stop (CR: default 30 s per request).
class Deadline {
 public:
  static Deadline never() { return Deadline(0.0); }
  static Deadline after_ms(double ms) { return Deadline(now_ms() + ms); }
  bool expired() const { return at_ms_ > 0.0 && now_ms() >= at_ms_; }

 private:
  explicit Deadline(double at_ms) : at_ms_(at_ms) {}
  double at_ms_;
};

}  // namespace cmdai
