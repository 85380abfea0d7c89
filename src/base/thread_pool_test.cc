#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <utility>
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
    pool.parallel_for(
        n,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[i]++;
        },
        4);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, ChunksAreMultiplesOfGrain) {
  ThreadPool pool(2);
  std::atomic<bool> aligned{true};
  pool.parallel_for(
      100,
      [&](int64_t b, int64_t) {
        if (b % 8 != 0) aligned = false;
      },
      8);
  EXPECT_TRUE(aligned.load());
}

TEST(ThreadPool, SingleThreadRunsInlineOnTheCallingThread) {
  // n_threads counts the caller (thread_pool.h): a pool of one has no workers, so every piece of
  // work runs on the thread that asked for it, as thread index 0, in one chunk.
  ThreadPool pool(1);
  EXPECT_EQ(pool.size(), 1);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::pair<int64_t, int64_t>> chunks;
  std::vector<std::thread::id> ran_on;
  pool.parallel_for(10, [&](int64_t b, int64_t e) {
    chunks.emplace_back(b, e);
    ran_on.push_back(std::this_thread::get_id());
  });
  std::vector<int> indices;
  pool.run([&](int t) {
    indices.push_back(t);
    ran_on.push_back(std::this_thread::get_id());
  });
  EXPECT_EQ(chunks, (std::vector<std::pair<int64_t, int64_t>>{{0, 10}}));
  EXPECT_EQ(indices, std::vector<int>{0});
  ASSERT_EQ(ran_on.size(), 2u);
  for (const std::thread::id& id : ran_on) EXPECT_EQ(id, caller);
}

TEST(ThreadPool, CallerIsThreadZeroAndWorkersAreOtherThreads) {
  ThreadPool pool(3);
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::thread::id> ids(3);
  pool.run([&](int t) { ids[t] = std::this_thread::get_id(); });
  EXPECT_EQ(ids[0], caller);
  EXPECT_EQ(std::set<std::thread::id>(ids.begin(), ids.end()).size(), 3u);
}

}  // namespace
}  // namespace cmdai
