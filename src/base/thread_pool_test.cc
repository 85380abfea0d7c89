#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace cmdai {
namespace {

TEST(ThreadPool, RunCallsEveryThreadOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> calls(4);
  for (int round = 0; round < 100; ++round) pool.run([&](int t) { calls[t]++; });
  for (auto& c : calls) EXPECT_EQ(c.load(), 100);
}

TEST(ThreadPool, ParallelForCoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 7, 64, 1000, 1001}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    }, 4);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, ChunksAreMultiplesOfGrain) {
  ThreadPool pool(2);
  std::atomic<bool> aligned{true};
  pool.parallel_for(100, [&](int64_t b, int64_t) {
    if (b % 8 != 0) aligned = false;
  }, 8);
  EXPECT_TRUE(aligned.load());
}

TEST(ThreadPool, SingleThreadRunsInline) {
  ThreadPool pool(1);
  int sum = 0;
  pool.parallel_for(10, [&](int64_t b, int64_t e) { sum += static_cast<int>(e - b); });
  EXPECT_EQ(sum, 10);
}

}  // namespace
}  // namespace cmdai
