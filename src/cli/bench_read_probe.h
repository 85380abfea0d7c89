// The memory-read ceiling `cmdai bench` compares decode with: how fast the pool's threads can
// merely read the model's weights, in the same process, mapping and minute.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"

namespace cmdai::cli {

struct ReadProbeResult {
  double gb_per_s = 0;         // best pass: bytes read / wall time
  int streams_per_thread = 0;  // how the best pass read each piece: 1 or 4 sequential streams
  uint64_t checksum = 0;       // wrapping sum of every 8-byte word (one pass), so no read is elided
  bool passes_agree = true;    // every pass, in either order, found the same checksum
};

// Reads every byte of `regions` (whole 8-byte words; a region's tail of 1-7 bytes is left out)
// `passes` times reading each piece as one sequential stream and `passes` times as four (the
// order the GEMV kernels read rows in, row_streams.h: up to ~25% faster on the Zen 3 host), the
// pool's threads taking 1 MiB pieces in turn (long enough runs for the hardware prefetcher: with
// 64 KiB pieces it read ~15% slower than a plain two-halves AVX2 loop; now within ~5%), and keeps
// the fastest pass.
ReadProbeResult read_probe(std::span<const std::span<const uint8_t>> regions, ThreadPool& pool,
                           int passes);

}  // namespace cmdai::cli
