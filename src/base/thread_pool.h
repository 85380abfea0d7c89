// A persistent pool of worker threads: one fork-join `run` per operation, no thread creation per
// op. Workers spin briefly before sleeping, because decode issues hundreds of short ops per token.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace cmdai {

class ThreadPool {
 public:
  // n_threads counts the calling thread; 0 means one per hardware core.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(thread_index) once on every thread (the caller is index 0) and returns when all are
  // done. Not reentrant: one run at a time per pool.
  void run(const std::function<void(int thread_index)>& fn);

  // Splits [0, n) into one contiguous chunk per thread (multiples of `grain`, the last takes the
  // rest).
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn,
                    int64_t grain = 1);

  static int hardware_threads();

 private:
  void worker_loop(int thread_index);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace cmdai
