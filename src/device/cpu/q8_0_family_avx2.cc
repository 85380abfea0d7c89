// AVX2 kernels for the 32-element block formats (q8_0, q4_0, q5_0) x Q8_0 activations.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "device/cpu/kernels_avx2.h"
#include "device/cpu/row_streams.h"
#include "device/cpu/simd_avx2.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference (compiled without FMA): see simd_avx2.h.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx2 {
namespace {

// ---- 32-element blocks x Q8_0 ----
//
// Every kernel forms each block's exact integer sum and then takes quant/vec_dot.cc's float steps,
// sum += float(sumi) * (wd * ad), block by block, so prefill tiles, the one-token GEMV and the
// scalar reference give the same bits. Signed x signed bytes go through vpmaddubsw as
// |w| x (a with w's sign); no pair of its products can saturate (|w| <= 128, |a| <= 127 from the
// quantizer), but two of its results can, so every one is widened by vpmaddwd.

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
  return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles(b.qs), spread_bits(qh)),
                         _mm256_set1_epi8(16));
}

// A block of four rows, interleaved (see interleave_rows4): w[k] holds quants 8k..8k+7 of each
// row, abs[k] their magnitudes.
template <typename Block>
inline void signed_rows4(const Block* const* b, __m256i* w, __m256i* abs) {
  const __m256i raw[4] = {signed_quants(*b[0]), signed_quants(*b[1]), signed_quants(*b[2]),
                          signed_quants(*b[3])};
  interleave_rows4(raw, w);
  for (int k = 0; k < 4; ++k) abs[k] = _mm256_sign_epi8(w[k], w[k]);
}

// One token's block sums for four interleaved rows, int32 lanes 2r, 2r+1 of each half for row
// 2 * half + r (act: the token's 32 activations of the block).
inline __m256i rows4_block_sums(const __m256i* w, const __m256i* abs, const int8_t* act) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    const __m256i p = _mm256_maddubs_epi16(abs[k], _mm256_sign_epi8(broadcast8(act + 8 * k), w[k]));
    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, ones));
  }
  return sum;
}

// The prefill tile: four rows (interleaved) x kTokens tokens, one float sum per (token, row) with
// two tokens per vector in token_pair_sums' lane order. A short row group repeats its last row
// and a partial tile its last token in the spare lanes (computed, never stored).
template <typename Block, int kTokens>
void q8_0_family_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                      const uint8_t* a, size_t a_stride, int64_t t0, int nt,
                      const FloatLanes* ad_lanes, float* y, int64_t y_stride) {
  constexpr int kRows = 4, kPairs = kTokens / 2;
  const TileBlocks<Block, BlockQ8_0, kTokens> tile(w, w_stride, rb, nr, a, a_stride, t0, nt);
  __m256 sum[kPairs];
  for (auto& v : sum) v = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const Block* b[kRows] = {tile.rows[0] + i, tile.rows[1] + i, tile.rows[2] + i,
                             tile.rows[3] + i};
    __m256i wq[4], wabs[4];
    signed_rows4(b, wq, wabs);
    const __m256 wd = rows4_pair_lanes(b[0]->d, b[1]->d, b[2]->d, b[3]->d);
    for (int p = 0; p < tile.live_pairs; ++p) {
      const BlockQ8_0& at = tile.tokens[2 * p][i];
      const BlockQ8_0& au = tile.tokens[2 * p + 1][i];
      const __m256i st = rows4_block_sums(wq, wabs, at.qs);
      const __m256i su = 2 * p + 1 < nt ? rows4_block_sums(wq, wabs, au.qs) : st;
      const __m256 ad = tile_pair_scale(ad_lanes, i, p);  // [at at au au | at at au au]
      const __m256 sumi = _mm256_cvtepi32_ps(token_pair_sums(st, su));
      sum[p] = _mm256_add_ps(sum[p], _mm256_mul_ps(sumi, _mm256_mul_ps(wd, ad)));
    }
  }
  store_token_pairs(sum, tile.live_pairs, nt, nr, t0, rb, y, y_stride);
}

// Tiles of 4 rows x up to 16 tokens; the last, narrower tile takes the 4-, 8- or 16-token form.
template <typename Block>
void gemm_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                      int64_t y_stride) {
  constexpr int kRows = 4;
  const int64_t nb = n / kQK;
  const int64_t groups = (n_tokens + kMaxTileTokens - 1) / kMaxTileTokens;
  // Every token pair's block scales as float lanes, once for all of this call's row groups.
  const FloatLanes* ad_lanes = tile_pair_scales<BlockQ8_0>(
      a, a_stride, n_tokens, nb, [](const BlockQ8_0& t, const BlockQ8_0& u) {
        return _mm256_cvtph_ps(_mm_shuffle_epi8(
            _mm_cvtsi32_si128(static_cast<int>(t.d | static_cast<uint32_t>(u.d) << 16)),
            _mm_setr_epi8(0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3)));
      });
  for (int64_t rb = r0; rb < r1; rb += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - rb));
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t t0 = g * kMaxTileTokens;
      const int nt = static_cast<int>(std::min<int64_t>(kMaxTileTokens, n_tokens - t0));
      (nt <= 4   ? q8_0_family_tile<Block, 4>
       : nt <= 8 ? q8_0_family_tile<Block, 8>
                 : q8_0_family_tile<Block, 16>)(nb, w, w_stride, rb, nr, a, a_stride, t0, nt,
                                                ad_lanes + g * nb * (kMaxTileTokens / 2), y,
                                                y_stride);
    }
  }
}

// One token, four rows at once (any four: rows[rr] are their blocks): each block's four exact sums
// reduced together, then the reference's float steps in four lanes (so the bits match the tile's
// and vec_dot.cc's). out[rr] receives row rr's result.
template <typename Block>
inline void gemv_q8_0_rows4(int64_t nb, const Block* const* rows, const BlockQ8_0* ab,
                            float* const* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m128 sum = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i aq = load256(ab[i].qs);
    __m256i v[4];
    for (int rr = 0; rr < 4; ++rr) {
      const __m256i wq = signed_quants(rows[rr][i]);
      v[rr] = _mm256_madd_epi16(
          _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq)), ones);
    }
    const __m256i halves = partial_sums4(v);
    const __m128i sumi =
        _mm_add_epi32(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
    const __m128 wd = _mm_cvtph_ps(_mm_setr_epi16(
        static_cast<int16_t>(rows[0][i].d), static_cast<int16_t>(rows[1][i].d),
        static_cast<int16_t>(rows[2][i].d), static_cast<int16_t>(rows[3][i].d), 0, 0, 0, 0));
    sum = _mm_add_ps(sum,
                     _mm_mul_ps(_mm_cvtepi32_ps(sumi), _mm_mul_ps(wd, _mm_set1_ps(h2f(ab[i].d)))));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  for (int rr = 0; rr < 4; ++rr) *out[rr] = lanes[rr];
}

// One row (the tail of a row range that is not a multiple of four).
template <typename Block>
inline float gemv_q8_0_row(int64_t nb, const Block* row, const BlockQ8_0* ab) {
  const __m256i ones = _mm256_set1_epi16(1);
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i wq = signed_quants(row[i]), aq = load256(ab[i].qs);
    const __m256i v = _mm256_madd_epi16(
        _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq)), ones);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    sum += static_cast<float>(_mm_cvtsi128_si32(s)) * (h2f(row[i].d) * h2f(ab[i].d));
  }
  return sum;
}

template <typename Block>
void gemv_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                      int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    float* yt = y + t * y_stride;
    const auto rows4 = [&](const Block* const* rows, float* const* out) {
      gemv_q8_0_rows4<Block>(nb, rows, ab, out);
    };
    const int64_t tail = for_row_stream_blocks4<Block>(w, w_stride, yt, r0, r1, rows4);
    for (int64_t r = tail; r < r1; ++r) {
      yt[r] = gemv_q8_0_row<Block>(
          nb, reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * w_stride), ab);
    }
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
