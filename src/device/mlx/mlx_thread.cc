#include "device/mlx/mlx_thread.h"

#include <exception>
#include <future>
#include <new>
#include <string>

namespace cmdai::mlx_device {

Status guard_mlx(std::string_view what, const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kResourceExhausted, "MLX ran out of memory during {}", what);
  } catch (const std::exception& e) {
    const std::string message = e.what();
    if (message.find("[malloc]") != std::string::npos) {
      return make_error(ErrorCode::kResourceExhausted, "MLX ran out of memory during {}: {}", what,
                        message);
    }
    return make_error(ErrorCode::kDeviceError, "MLX error during {}: {}", what, message);
  } catch (...) {
    return make_error(ErrorCode::kDeviceError, "MLX error during {}: an unknown exception", what);
  }
}

MlxThread::MlxThread() : thread_([this] { loop(); }) {}

MlxThread::~MlxThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

Status MlxThread::run(std::string_view what, const std::function<Status()>& fn) {
  if (std::this_thread::get_id() == thread_.get_id()) return guard_mlx(what, fn);
  std::promise<Status> done;
  auto result = done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back([&] { done.set_value(guard_mlx(what, fn)); });
  }
  wake_.notify_one();
  return result.get();
}

void MlxThread::loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace cmdai::mlx_device
