#include "cli/bench_read_probe.h"

#include <algorithm>
#include <cstring>

#include "base/clock.h"

namespace cmdai::cli {
namespace {

constexpr size_t kPieceBytes = size_t{1} << 20;

struct Piece {
  const uint8_t* data;
  size_t words;
};

uint64_t word_at(const uint8_t* p, size_t i) {
  uint64_t w;
  std::memcpy(&w, p + 8 * i, sizeof w);
  return w;
}

// Sums `words` words as `streams` equal parts read in step, a cache line (8 words) of each in
// turn, so the hardware prefetcher sees that many sequential streams; the rest goes after.
// Four independent sums, so the loads are not serialized behind one add chain.
uint64_t sum_words(const uint8_t* p, size_t words, int streams) {
  constexpr size_t kLineWords = 8;
  const size_t part = words / static_cast<size_t>(streams) / kLineWords * kLineWords;
  uint64_t s[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < part; i += kLineWords) {
    for (int k = 0; k < streams; ++k) {
      const uint8_t* line = p + 8 * (static_cast<size_t>(k) * part + i);
      for (size_t j = 0; j < kLineWords; ++j) s[j & 3] += word_at(line, j);
    }
  }
  for (size_t i = part * static_cast<size_t>(streams); i < words; ++i) s[0] += word_at(p, i);
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
  bool first = true;
  for (const int streams : {1, 4}) {
    for (int pass = 0; pass < std::max(1, passes); ++pass) {
      std::vector<uint64_t> sums(static_cast<size_t>(n_threads), 0);
      const double t0 = now_ms();
      pool.run([&](int t) {
        uint64_t s = 0;
        for (size_t i = static_cast<size_t>(t); i < pieces.size();
             i += static_cast<size_t>(n_threads)) {
          s += sum_words(pieces[i].data, pieces[i].words, streams);
        }
        sums[static_cast<size_t>(t)] = s;
      });
      const double ms = now_ms() - t0;
      uint64_t checksum = 0;
      for (uint64_t s : sums) checksum += s;
      if (!first && checksum != result.checksum) result.passes_agree = false;
      result.checksum = checksum;
      first = false;
      const double gb_per_s = ms > 0 ? static_cast<double>(bytes) / ms / 1e6 : 0.0;
      if (gb_per_s > result.gb_per_s) {
        result.gb_per_s = gb_per_s;
        result.streams_per_thread = streams;
      }
    }
  }
  return result;
}

}  // namespace cmdai::cli
