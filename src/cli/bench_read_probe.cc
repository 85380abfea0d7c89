#include "cli/bench_read_probe.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "base/clock.h"

namespace cmdai::cli {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;

struct Piece {
  const uint8_t* data;
  size_t words;
};

// Four independent sums, so the loads are not serialized behind one add chain.
uint64_t sum_words(const uint8_t* p, size_t words) {
  uint64_t s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + 8 * (i + k), sizeof w);
      s[k] += w;
    }
  }
  for (; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, sizeof w);
    s[0] += w;
  }
  return s[0] + s[1] + s[2] + s[3];
}

}  // namespace

ReadProbeResult read_probe(std::span<const std::span<const uint8_t>> regions, ThreadPool& pool,
                           int passes) {
  std::vector<Piece> pieces;
  uint64_t bytes = 0;
  for (const auto& region : regions) {
    const size_t words = region.size() / 8;
    for (size_t w = 0; w < words; w += kPieceBytes / 8) {
      pieces.push_back({region.data() + 8 * w, std::min(kPieceBytes / 8, words - w)});
    }
    bytes += 8 * words;
  }
  ReadProbeResult result;
  const int n_threads = pool.size();
  for (int pass = 0; pass < std::max(1, passes); ++pass) {
    std::vector<uint64_t> sums(static_cast<size_t>(n_threads), 0);
    const double t0 = now_ms();
    pool.run([&](int t) {
      uint64_t s = 0;
      for (size_t i = static_cast<size_t>(t); i < pieces.size(); i += static_cast<size_t>(n_threads)) {
        s += sum_words(pieces[i].data, pieces[i].words);
      }
      sums[static_cast<size_t>(t)] = s;
    });
    const double ms = now_ms() - t0;
    uint64_t checksum = 0;
    for (uint64_t s : sums) checksum += s;
    result.checksum = checksum;
    if (ms > 0) result.gb_per_s = std::max(result.gb_per_s, static_cast<double>(bytes) / ms / 1e6);
  }
  return result;
}

}  // namespace cmdai::cli
