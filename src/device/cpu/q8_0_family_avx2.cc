// AVX2 kernels for the 32-element block formats (q8_0, q4_0, q5_0) x Q8_0 activations.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "device/cpu/kernels_avx2.h"
#include "device/cpu/simd_avx2.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference (compiled without FMA): see simd_avx2.h.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx2 {
namespace {

// ---- 32-element blocks x Q8_0 ----
//
// Same tiling; each (row, token) keeps an 8-lane float accumulator that takes one fmadd per block,
// reduced once at the end: the order is fixed, so tiles and threads do not change results.

inline __m256i unpack_nibbles(const uint8_t* qs) {  // elements 0..15 low nibbles, 16..31 high
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_setr_m128i(raw, _mm_srli_epi16(raw, 4));
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 0x10 in byte j where bit j of the 32-bit word is set.
inline __m256i spread_bits(uint32_t bits) {
  const __m256i select = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i mask = _mm256_set1_epi64x(0x8040201008040201LL);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), select);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, mask), mask);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

inline __m256i signed_quants(const BlockQ8_0& b) { return load256(b.qs); }
inline __m256i signed_quants(const BlockQ4_0& b) {
  return _mm256_sub_epi8(unpack_nibbles(b.qs), _mm256_set1_epi8(8));
}
inline __m256i signed_quants(const BlockQ5_0& b) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, sizeof qh);
  return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles(b.qs), spread_bits(qh)), _mm256_set1_epi8(16));
}

// One tile: kRows rows x kTokens tokens, every count known at compile time so the loops unroll and
// the kRows * kTokens accumulators stay in registers (with run-time counts GCC kept bound checks in
// the inner loop and spilled accumulators).
// ad: the activations' block scales as floats, nb per token; wd: the rows' (from rb), nb per row
// (see gemm_q8_0_family).
template <typename Block, int kRows, int kTokens>
void q8_0_family_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, const uint8_t* a,
                      size_t a_stride, const float* ad, const float* wd_rows, int64_t t0, float* y,
                      int64_t y_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kRows][kTokens];
  for (auto& row : acc) for (auto& v : row) v = _mm256_setzero_ps();
  const Block* rows[kRows];
  for (int rr = 0; rr < kRows; ++rr) rows[rr] = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + rr) * w_stride);
  const BlockQ8_0* tokens[kTokens];
  for (int t = 0; t < kTokens; ++t) tokens[t] = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t0 + t) * a_stride);
  for (int64_t i = 0; i < nb; ++i) {
    __m256i wq[kRows], wabs[kRows];
    __m256 wd[kRows];  // each row's block scale in every lane
    for (int rr = 0; rr < kRows; ++rr) {
      wq[rr] = signed_quants(rows[rr][i]);
      wabs[rr] = _mm256_sign_epi8(wq[rr], wq[rr]);
      wd[rr] = _mm256_broadcast_ss(wd_rows + rr * nb + i);
      // Opaque, so GCC keeps one vector multiply per (row, token) below instead of turning the
      // product of two broadcasts into a scalar multiply and a broadcast (two operations).
      asm("" : "+x"(wd[rr]));
    }
    for (int t = 0; t < kTokens; ++t) {
      const __m256i aq = load256(tokens[t][i].qs);
      const __m256 token_scale = _mm256_broadcast_ss(ad + (t0 + t) * nb + i);
      for (int rr = 0; rr < kRows; ++rr) {
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs[rr], _mm256_sign_epi8(aq, wq[rr])), ones);
        // The scale product in vector lanes rounds exactly like the scalar wd * ad of the GEMV.
        acc[rr][t] = _mm256_fmadd_ps(_mm256_mul_ps(wd[rr], token_scale), _mm256_cvtepi32_ps(p), acc[rr][t]);
      }
    }
  }
  for (int t = 0; t < kTokens; ++t) {
    for (int rr = 0; rr < kRows; ++rr) y[(t0 + t) * y_stride + rb + rr] = hsum(acc[rr][t]);
  }
}

template <typename Block>
void gemm_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  constexpr int kRows = 2, kTokens = 4;
  using Tile = void (*)(int64_t, const uint8_t*, size_t, int64_t, const uint8_t*, size_t, const float*,
                       const float*, int64_t, float*, int64_t);
  // [rows - 1][tokens - 1]: the full tile and the narrower ones at the edges.
  static constexpr Tile kTiles[kRows][kTokens] = {
      {q8_0_family_tile<Block, 1, 1>, q8_0_family_tile<Block, 1, 2>, q8_0_family_tile<Block, 1, 3>, q8_0_family_tile<Block, 1, 4>},
      {q8_0_family_tile<Block, 2, 1>, q8_0_family_tile<Block, 2, 2>, q8_0_family_tile<Block, 2, 3>, q8_0_family_tile<Block, 2, 4>}};
  const int64_t nb = n / kQK;
  // Every token's block scales as floats, once per call, and each row pair's once per pair: the
  // tiles then broadcast them from memory instead of converting from f16 for every tile (three
  // operations per token or row and block).
  thread_local std::vector<float> ad, wd;
  wd.resize(static_cast<size_t>(kRows * nb));
  ad.resize(static_cast<size_t>(n_tokens * nb));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* blocks = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    for (int64_t i = 0; i < nb; ++i) ad[static_cast<size_t>(t * nb + i)] = h2f(blocks[i].d);
  }
  for (int64_t rb = r0; rb < r1; rb += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - rb));
    for (int rr = 0; rr < nr; ++rr) {
      const auto* blocks = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + rr) * w_stride);
      for (int64_t i = 0; i < nb; ++i) wd[static_cast<size_t>(rr * nb + i)] = h2f(blocks[i].d);
    }
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kTokens, n_tokens - t0));
      kTiles[nr - 1][nt - 1](nb, w, w_stride, rb, a, a_stride, ad.data(), wd.data(), t0, y, y_stride);
    }
  }
}

// One token, kRows rows at once with every accumulator in a register: the same per-(row, token)
// fmadd sequence as gemm_q8_0_family, so the bits match; kRows independent chains hide latency.
template <typename Block, int kRows>
inline void gemv_q8_0_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t r,
                           const BlockQ8_0* ab, float* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kRows];
  for (auto& v : acc) v = _mm256_setzero_ps();
  // Interleaved row streams defeat the hardware prefetcher, so each step prefetches its share of
  // the next kRows rows, linearly (cold q8_0 GEMV, one thread: ~9.5 -> see commit message).
  const uint8_t* next_rows = w + static_cast<size_t>(r + kRows) * w_stride;
  const size_t prefetch_step = kRows * w_stride / static_cast<size_t>(nb);
  for (int64_t i = 0; i < nb; ++i) {
    if constexpr (kRows > 1) {
      const uint8_t* ahead = next_rows + static_cast<size_t>(i) * prefetch_step;
      for (size_t off = 0; off < prefetch_step; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T0);
      }
    }
    const __m256i aq = load256(ab[i].qs);
    const float ad = h2f(ab[i].d);
    for (int rr = 0; rr < kRows; ++rr) {
      const Block& b = reinterpret_cast<const Block*>(w + static_cast<size_t>(r + rr) * w_stride)[i];
      const __m256i wq = signed_quants(b);
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq)), ones);
      acc[rr] = _mm256_fmadd_ps(_mm256_set1_ps(h2f(b.d) * ad), _mm256_cvtepi32_ps(p), acc[rr]);
    }
  }
  for (int rr = 0; rr < kRows; ++rr) out[rr] = hsum(acc[rr]);
}

template <typename Block>
void gemv_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    float* yt = y + t * y_stride;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) gemv_q8_0_rows<Block, 4>(nb, w, w_stride, r, ab, yt + r);
    for (; r < r1; ++r) gemv_q8_0_rows<Block, 1>(nb, w, w_stride, r, ab, yt + r);
  }
}

}  // namespace

void gemm_q8_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_q8_0_family<BlockQ8_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q4_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_q8_0_family<BlockQ4_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q5_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_q8_0_family<BlockQ5_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q8_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_q8_0_family<BlockQ8_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q4_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_q8_0_family<BlockQ4_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q5_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_q8_0_family<BlockQ5_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx2
