// The one thread an MLX model's arrays live on (CR-MLX-008: an MLX array belongs to the thread
// that built it) and the boundary where MLX's C++ exceptions become typed errors (CR-MLX-006).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "base/result.h"

namespace cmdai::mlx_device {

// Runs `fn`, turning what MLX throws into errors that name MLX and `what` failed:
// std::bad_alloc (and MLX's "[malloc]" failures) as kResourceExhausted, anything else as
// kDeviceError. Never lets an exception out.
Status guard_mlx(std::string_view what, const std::function<Status()>& fn);

// A worker thread that runs one task at a time, in the order asked, for every owner of one
// model's arrays (the model, its KV caches). Callers on other threads wait for their task; a
// task asked for from the worker itself runs at once (no deadlock when a task frees a cache).
class MlxThread {
 public:
  MlxThread();
  ~MlxThread();  // finishes queued tasks, then joins
  MlxThread(const MlxThread&) = delete;
  MlxThread& operator=(const MlxThread&) = delete;

  // guard_mlx(what, fn), run on the worker thread.
  Status run(std::string_view what, const std::function<Status()>& fn);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cmdai::mlx_device
