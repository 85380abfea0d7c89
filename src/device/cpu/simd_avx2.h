// Small AVX2 helpers shared by the *_avx2.cc kernel files. Include it only from files compiled
// with -mavx2 -mfma -mf16c (the device CMakeLists gives those flags to *_avx2.cc).
//
// Every kernel file also sets fp-contract=off: the K-quant kernels promise the scalar
// reference's exact bits, which needs each scalar multiply and add rounded separately even though
// FMA is enabled for these files (vector FMAs are written as explicit intrinsics).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace cmdai::cpu::avx2 {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// F16C conversion: same value as base/fp16.h's portable one, a single instruction.
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Lanes 0-3 of each half: partial sums of v[0..3], each of that half's four pairs of lanes.
// Integer sums by unpacks: they run on Zen 3's shuffle pipes, not the multiply pipes vphaddd uses.
inline __m256i partial_sums4(const __m256i* v) {
  const __m256i s01 =
      _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
  const __m256i s23 =
      _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
  return _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
}

// Four weight rows interleaved in each vector: the prefill tiles that put 8 quants of each of four
// rows side by side (the token's matching 8 activations broadcast to all four with broadcast8).

// Bytes 8k..8k+7 of four rows' 32-byte vectors side by side: out[k] = [q0 | q1 | q2 | q3] (k's
// 8 bytes of each).
inline void interleave_rows4(const __m256i* q, __m256i* out) {
  const __m256i t0 = _mm256_unpacklo_epi64(q[0], q[1]), t1 = _mm256_unpackhi_epi64(q[0], q[1]);
  const __m256i t2 = _mm256_unpacklo_epi64(q[2], q[3]), t3 = _mm256_unpackhi_epi64(q[2], q[3]);
  out[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
  out[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
  out[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
  out[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

// 8 activation bytes in every 64-bit lane.
inline __m256i broadcast8(const int8_t* p) {
  int64_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi64x(v);
}

// [t r0, t r1, u r0, u r1 | t r2, t r3, u r2, u r3]: the row sums of tokens t and u from their
// interleaved accumulators (int32 lanes 2r, 2r+1 of each half: row 2 * half + r).
inline __m256i token_pair_sums(__m256i t, __m256i u) {
  const __m256 x = _mm256_castsi256_ps(t), y = _mm256_castsi256_ps(u);
  return _mm256_add_epi32(_mm256_castps_si256(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(2, 0, 2, 0))),
                          _mm256_castps_si256(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(3, 1, 3, 1))));
}

// The block rows of a four-row tile: row group rb, nr of them real (a short group repeats its
// last row in the spare ones; computed, never stored).
template <typename Block>
inline void tile_row_blocks(const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                            const Block* (&rows)[4]) {
  for (int rr = 0; rr < 4; ++rr) {
    rows[rr] = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + std::min(rr, nr - 1)) *
                                                      w_stride);
  }
}

// Each of a tile's kTokens tokens' first activation block, from t0, nt of them real (a partial
// tile repeats its last token in the spare ones; computed, never stored).
template <typename Block, int kTokens>
inline void tile_token_blocks(const uint8_t* a, size_t a_stride, int64_t t0, int nt,
                              const Block* (&tokens)[kTokens]) {
  for (int t = 0; t < kTokens; ++t) {
    tokens[t] = reinterpret_cast<const Block*>(a + static_cast<size_t>(t0 + std::min(t, nt - 1)) *
                                                       a_stride);
  }
}

// What every four-row prefill tile starts from: its rows' and tokens' first blocks (spares
// repeating the last real one, see tile_row_blocks and tile_token_blocks) and how many token
// pairs hold a real token.
template <typename Block, typename TokenBlock, int kTokens>
struct TileBlocks {
  TileBlocks(const uint8_t* w, size_t w_stride, int64_t rb, int nr, const uint8_t* a,
             size_t a_stride, int64_t t0, int nt)
      : live_pairs((nt + 1) / 2) {
    tile_row_blocks(w, w_stride, rb, nr, rows);
    tile_token_blocks(a, a_stride, t0, nt, tokens);
  }
  const Block* rows[4];
  const TokenBlock* tokens[kTokens];
  int live_pairs;
};

// Four rows' f16 scales as floats in token_pair_sums' lane order: [h0 h1 h0 h1 | h2 h3 h2 h3].
inline __m256 rows4_pair_lanes(uint16_t h0, uint16_t h1, uint16_t h2, uint16_t h3) {
  const __m128i four =
      _mm_setr_epi16(static_cast<int16_t>(h0), static_cast<int16_t>(h1), static_cast<int16_t>(h2),
                     static_cast<int16_t>(h3), 0, 0, 0, 0);
  return _mm256_cvtph_ps(
      _mm_shuffle_epi8(four, _mm_setr_epi8(0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7)));
}

// Eight floats as one aligned vector's worth: the prefill tiles' precomputed token-pair scales
// (built once per matmul call for all of its row groups, then loaded by every tile).
struct alignas(32) FloatLanes {
  float v[8];
};

// The most tokens a prefill tile takes; its precomputed pair scales come kMaxTileTokens / 2 to a
// block.
inline constexpr int kMaxTileTokens = 16;

// The pair scales of n_tokens tokens taken kMaxTileTokens to a tile: entry
// (g * nb + i) * kMaxTileTokens / 2 + p holds pair p of tile g at block i, made by
// pair_lanes(token block, next token block) (a tile's last odd token is paired with itself).
// Valid until the next call on this thread.
template <typename TokenBlock, typename PairLanesFn>
const FloatLanes* tile_pair_scales(const uint8_t* a, size_t a_stride, int64_t n_tokens, int64_t nb,
                                   PairLanesFn&& pair_lanes) {
  constexpr int kPairs = kMaxTileTokens / 2;
  thread_local std::vector<FloatLanes> storage;
  const int64_t tiles = (n_tokens + kMaxTileTokens - 1) / kMaxTileTokens;
  storage.resize(static_cast<size_t>(tiles * nb * kPairs));
  for (int64_t g = 0; g < tiles; ++g) {
    const int64_t t0 = g * kMaxTileTokens;
    const int nt = static_cast<int>(std::min<int64_t>(kMaxTileTokens, n_tokens - t0));
    const TokenBlock* tokens[kMaxTileTokens];
    tile_token_blocks(a, a_stride, t0, nt, tokens);
    for (int64_t i = 0; i < nb; ++i) {
      for (int p = 0; p < (nt + 1) / 2; ++p) {
        _mm256_store_ps(storage[static_cast<size_t>((g * nb + i) * kPairs + p)].v,
                        pair_lanes(tokens[2 * p][i], tokens[2 * p + 1][i]));
      }
    }
  }
  return storage.data();
}

// Pair p's scale vector at block i in one tile's share of tile_pair_scales' table.
inline __m256 tile_pair_scale(const FloatLanes* tile_lanes, int64_t i, int p) {
  return _mm256_load_ps(tile_lanes[i * (kMaxTileTokens / 2) + p].v);
}

// Two tokens' float scales in token_pair_sums' lane order: [t t u u | t t u u].
inline __m256 token_pair_lanes(const float* t, const float* u) {
  const __m128 two = _mm_unpacklo_ps(_mm_load_ss(t), _mm_load_ss(u));
  return _mm256_permute_ps(_mm256_castpd_ps(_mm256_broadcastsd_pd(_mm_castps_pd(two))),
                           _MM_SHUFFLE(1, 1, 0, 0));
}

// Stores the live (token, row) sums of a four-row tile kept in token_pair_sums' lane order, pair
// p for tokens 2p and 2p + 1: y[(t0 + t) * y_stride + rb + row] for t < nt, row < nr.
inline void store_token_pairs(const __m256* sum, int live_pairs, int nt, int nr, int64_t t0,
                              int64_t rb, float* y, int64_t y_stride) {
  for (int p = 0; p < live_pairs; ++p) {
    alignas(32) float out[8];
    _mm256_store_ps(out, sum[p]);
    for (int lane = 0; lane < 8; ++lane) {
      const int t = 2 * p + (lane % 4) / 2, rr = 2 * (lane / 4) + lane % 2;
      if (t < nt && rr < nr) y[(t0 + t) * y_stride + rb + rr] = out[lane];
    }
  }
}

}  // namespace cmdai::cpu::avx2
