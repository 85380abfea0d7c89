#include "base/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace cmdai {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A few microseconds of spinning bridge the gap between two ops of one token; past that, threads
// sleep on a futex. Long spins were measured to hurt: on these 2-vCPU machines a spinning thread
// takes execution resources from the one doing the work (decode fell from 9 to 3 tokens/s with
// 2 threads when another process held a core).
constexpr int kSpinIterations = 2000;

}  // namespace

int ThreadPool::hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : hardware_threads();
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  epoch_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::worker_loop(int thread_index) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    uint64_t now = epoch_.load(std::memory_order_acquire);
    while (now == seen) {
      if (++spins < kSpinIterations) {
        cpu_relax();
      } else {
        epoch_.wait(seen, std::memory_order_acquire);
      }
      now = epoch_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    (*job_)(thread_index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

void ThreadPool::run(const std::function<void(int)>& fn) {
  if (n_threads_ == 1) {
    fn(0);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  epoch_.notify_all();
  fn(0);
  int spins = 0;
  for (int left = pending_.load(std::memory_order_acquire); left != 0;
       left = pending_.load(std::memory_order_acquire)) {
    if (++spins < kSpinIterations) {
      cpu_relax();
    } else {
      pending_.wait(left, std::memory_order_acquire);
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t n_chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(n_threads_, n_chunks));
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  run([&](int t) {
    if (t >= threads) return;
    const int64_t chunk_begin = n_chunks * t / threads;
    const int64_t chunk_end = n_chunks * (t + 1) / threads;
    const int64_t begin = chunk_begin * grain;
    const int64_t end = std::min(n, chunk_end * grain);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace cmdai
