#include "cli/bench_read_probe.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace cmdai::cli {
namespace {

uint64_t word_sum(const std::vector<uint8_t>& bytes) {
  uint64_t s = 0;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, sizeof w);
    s += w;
  }
  return s;
}

TEST(ReadProbe, ReadsEveryWordOfEveryRegionOncePerPass) {
  // Regions of odd sizes (a 3-byte tail, one shorter than a piece, one spanning several pieces),
  // so every thread gets pieces of several lengths.
  std::vector<std::vector<uint8_t>> data = {std::vector<uint8_t>(1000003), std::vector<uint8_t>(40),
                                            std::vector<uint8_t>(300000)};
  uint64_t want = 0;
  uint32_t x = 1;
  for (auto& bytes : data) {
    for (auto& b : bytes) b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
    want += word_sum(bytes);
  }
  const std::vector<std::span<const uint8_t>> regions = {data[0], data[1], data[2]};
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    const ReadProbeResult r = read_probe(regions, pool, 2);
    EXPECT_EQ(r.checksum, want) << threads << " threads";
    EXPECT_TRUE(r.passes_agree) << threads << " threads";
    EXPECT_TRUE(r.streams_per_thread == 1 || r.streams_per_thread == 4) << r.streams_per_thread;
    EXPECT_GT(r.gb_per_s, 0.0);
  }
}

TEST(ReadProbe, NothingToReadIsZeroNotACrash) {
  ThreadPool pool(2);
  const ReadProbeResult r = read_probe({}, pool, 3);
  EXPECT_EQ(r.checksum, 0u);
}

}  // namespace
}  // namespace cmdai::cli
