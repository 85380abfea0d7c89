// AVX-512 VNNI kernels for the 32-element block formats (q8_0, q4_0, q5_0) x Q8_0 activations.
//
// Both kernels form each block's exact integer sum and finish it with the reference's float steps
// (sum += float(sumi) * (w.d * a.d), block after block), so tile, GEMV and the scalar reference
// give the same bits. vpdpbusd multiplies unsigned by signed bytes, so weights are stored as
// q + offset (q8_0: +128, q4_0: +8, q5_0: +16, i.e. their raw unsigned codes) and the sum starts
// at -offset * (sum of the block's activations).
//
// Tile: 16 rows in the lanes of a register, like kquant_avx512.cc, 8 blocks per panel.
// GEMV: 4 rows at a time in their own layout; the 4 block sums are reduced together.
// GCC 12 warns about its own _mm512_undefined_* helpers (a self-initialised variable).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "device/cpu/kernels_avx512.h"
#include "device/cpu/row_streams.h"
#include "quant/blocks.h"

#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx512 {
namespace {

constexpr int kPanelBlocks = 8;

template <typename Block>
constexpr int kOffset = std::is_same_v<Block, BlockQ8_0>   ? 128
                        : std::is_same_v<Block, BlockQ4_0> ? 8
                                                           : 16;

// The block's 32 quants as unsigned bytes q + offset, in element order.
inline __m256i unsigned_quants(const BlockQ8_0& b) {
  return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)),
                          _mm256_set1_epi8(-128));
}
inline __m256i nibbles(const uint8_t* qs) {  // elements 0..15 low nibbles, 16..31 high
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_setr_m128i(raw, _mm_srli_epi16(raw, 4)), _mm256_set1_epi8(0x0F));
}
inline __m256i unsigned_quants(const BlockQ4_0& b) { return nibbles(b.qs); }
inline __m256i unsigned_quants(const BlockQ5_0& b) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, sizeof qh);
  const __m256i lo = nibbles(b.qs);
  return _mm256_mask_add_epi8(lo, static_cast<__mmask32>(qh), lo, _mm256_set1_epi8(16));
}

// -offset * sum of the 32 activations of a block.
template <typename Block>
inline int32_t offset_correction(const BlockQ8_0& a) {
  const __m256i biased =
      _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs)),
                       _mm256_set1_epi8(-128));  // a + 128, unsigned
  const __m256i s = _mm256_sad_epu8(biased, _mm256_setzero_si256());
  const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  const int64_t sum = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1) - 32 * 128;
  return static_cast<int32_t>(-kOffset<Block> * sum);
}

// ---- Tile ----

struct alignas(64) QPanel {
  __m512i
      w[8 * kPanelBlocks];  // block j, group k: register 8j + k, lane r = bytes 4k..4k+3 of row r
  __m512 d[kPanelBlocks];
};

template <typename Block>
void build_panel(const uint8_t* w, size_t w_stride, __m512i offsets, int nr, int64_t i0, int nblk,
                 QPanel* p) {
  const __mmask16 live = live_rows(nr);
  const __m256i zero = _mm256_setzero_si256();
  for (int j = 0; j < nblk; j += 2) {
    __m512i r[kPanelRows];
    for (int row = 0; row < kPanelRows; ++row) {
      __m256i lo = zero, hi = zero;
      if (row < nr) {
        const Block* b =
            reinterpret_cast<const Block*>(w + static_cast<size_t>(row) * w_stride) + i0 + j;
        lo = unsigned_quants(b[0]);
        if (j + 1 < nblk) hi = unsigned_quants(b[1]);
      }
      r[row] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    transpose16_epi32(r);
    for (int k = 0; k < 16; ++k) p->w[8 * j + k] = r[k];
  }
  for (int j = 0; j < nblk; ++j) {
    // The dword at the block's start: d, then quant bytes (every block is longer than 4 bytes).
    const __m512i dword = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offsets,
                                                      w + (i0 + j) * sizeof(Block), 1);
    p->d[j] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dword));
  }
}

// Tokens [t0, t0 + T) against blocks [i0, i0 + nblk): fsum[t * 16 + row] += each block's value.
template <int T>
inline void panel_tokens(const QPanel& p, int nblk, const uint8_t* a, size_t a_stride, int64_t t0,
                         int64_t i0, const int32_t* corr, int64_t nb, float* fsum) {
  const BlockQ8_0* ab[T];
  __m512 sum[T];
  for (int t = 0; t < T; ++t) {
    ab[t] = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t0 + t) * a_stride) + i0;
    sum[t] = _mm512_load_ps(fsum + (t0 + t) * kPanelRows);
  }
  for (int j = 0; j < nblk; ++j) {
    __m512i acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_set1_epi32(corr[(t0 + t) * nb + i0 + j]);
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m512i wk = p.w[8 * j + k];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        acc[t] = _mm512_dpbusd_epi32(acc[t], wk, _mm512_set1_epi32(load_i32(ab[t][j].qs + 4 * k)));
      }
    }
    for (int t = 0; t < T; ++t) {
      const __m512 scale = _mm512_mul_ps(p.d[j], _mm512_set1_ps(_cvtsh_ss(ab[t][j].d)));
      sum[t] = _mm512_add_ps(sum[t], _mm512_mul_ps(_mm512_cvtepi32_ps(acc[t]), scale));
    }
  }
  for (int t = 0; t < T; ++t) _mm512_store_ps(fsum + (t0 + t) * kPanelRows, sum[t]);
}

thread_local Scratch tile_sums, tile_corrections;

template <typename Block>
void gemm_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                 const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  const size_t outputs = kPanelRows * static_cast<size_t>(n_tokens);
  auto* fsum = static_cast<float*>(tile_sums.get(sizeof(float) * outputs));
  auto* corr = static_cast<int32_t*>(
      tile_corrections.get(sizeof(int32_t) * static_cast<size_t>(nb * n_tokens)));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    for (int64_t i = 0; i < nb; ++i) corr[t * nb + i] = offset_correction<Block>(ab[i]);
  }
  const __m512i offsets = row_offsets(w_stride);
  QPanel p;
  for (int64_t rb = r0; rb < r1; rb += kPanelRows) {
    const int nr = static_cast<int>(r1 - rb < kPanelRows ? r1 - rb : kPanelRows);
    const uint8_t* wr = w + static_cast<size_t>(rb) * w_stride;
    std::memset(fsum, 0, sizeof(float) * outputs);
    const NextPanelPrefetch prefetch(wr, w_stride, r1 - rb, (nb + kPanelBlocks - 1) / kPanelBlocks);
    for (int64_t i0 = 0; i0 < nb; i0 += kPanelBlocks) {
      const int nblk = static_cast<int>(nb - i0 < kPanelBlocks ? nb - i0 : kPanelBlocks);
      prefetch.step(i0 / kPanelBlocks);
      build_panel<Block>(wr, w_stride, offsets, nr, i0, nblk, &p);
      int64_t t = 0;
      for (; t + 8 <= n_tokens; t += 8)
        panel_tokens<8>(p, nblk, a, a_stride, t, i0, corr, nb, fsum);
      if (t + 4 <= n_tokens) panel_tokens<4>(p, nblk, a, a_stride, t, i0, corr, nb, fsum), t += 4;
      if (t + 2 <= n_tokens) panel_tokens<2>(p, nblk, a, a_stride, t, i0, corr, nb, fsum), t += 2;
      if (t < n_tokens) panel_tokens<1>(p, nblk, a, a_stride, t, i0, corr, nb, fsum);
    }
    const __mmask16 live = live_rows(nr);
    for (int64_t t = 0; t < n_tokens; ++t) {
      _mm512_mask_storeu_ps(y + t * y_stride + rb, live, _mm512_load_ps(fsum + t * kPanelRows));
    }
  }
}

// ---- GEMV ----

// Lanes sum to the block's exact integer dot product.
template <typename Block>
inline __m256i block_lanes(const Block& b, __m256i aq, __m256i neg_offset_lanes) {
  return _mm256_dpbusd_epi32(neg_offset_lanes, unsigned_quants(b), aq);
}

// kRows (1 or 4) rows, any ones (for_row_streams4 picks them); out[rr] receives row rr's result.
template <typename Block, int kRows>
inline void gemv_rows(int64_t nb, const Block* const* rows, const BlockQ8_0* ab,
                      float* const* out) {
  const __m256i offset_bytes = _mm256_set1_epi8(static_cast<char>(kOffset<Block>));
  __m128 sum4 = _mm_setzero_ps();
  float sum1 = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i aq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab[i].qs));
    // Lanes summing to -offset * sum(a).
    const __m256i neg = _mm256_sub_epi32(
        _mm256_setzero_si256(), _mm256_dpbusd_epi32(_mm256_setzero_si256(), offset_bytes, aq));
    const float ad = _cvtsh_ss(ab[i].d);
    if constexpr (kRows == 4) {
      __m256i v[4];
      for (int rr = 0; rr < 4; ++rr) v[rr] = block_lanes(rows[rr][i], aq, neg);
      const __m256i h =
          _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
      const __m128i sumi = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
      const __m128i dh = _mm_setr_epi16(
          static_cast<int16_t>(rows[0][i].d), static_cast<int16_t>(rows[1][i].d),
          static_cast<int16_t>(rows[2][i].d), static_cast<int16_t>(rows[3][i].d), 0, 0, 0, 0);
      const __m128 scale = _mm_mul_ps(_mm_cvtph_ps(dh), _mm_set1_ps(ad));
      sum4 = _mm_add_ps(sum4, _mm_mul_ps(_mm_cvtepi32_ps(sumi), scale));
    } else {
      const __m256i v = block_lanes(rows[0][i], aq, neg);
      const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
      const int32_t sumi =
          _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, _MM_SHUFFLE(2, 3, 0, 1))));
      sum1 += static_cast<float>(sumi) * (_cvtsh_ss(rows[0][i].d) * ad);
    }
  }
  if constexpr (kRows == 4) {
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, sum4);
    for (int rr = 0; rr < 4; ++rr) *out[rr] = lanes[rr];
  } else {
    *out[0] = sum1;
  }
}

template <typename Block>
void gemv_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                 const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    float* yt = y + t * y_stride;
    const auto rows4 = [&](const Block* const* rows, float* const* out) {
      gemv_rows<Block, 4>(nb, rows, ab, out);
    };
    const int64_t tail = for_row_stream_blocks4<Block>(w, w_stride, yt, r0, r1, rows4);
    for (int64_t r = tail; r < r1; ++r) {
      const Block* one[1] = {reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * w_stride)};
      float* out[1] = {yt + r};
      gemv_rows<Block, 1>(nb, one, ab, out);
    }
  }
}

template <typename Block>
void gemm_or_gemv(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
                  size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) {
    gemv_family<Block>(n, w, ws, r0, r1, a, as, nt, y, ys);
  } else {
    gemm_family<Block>(n, w, ws, r0, r1, a, as, nt, y, ys);
  }
}

}  // namespace

void gemm_q8_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_or_gemv<BlockQ8_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q4_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_or_gemv<BlockQ4_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q5_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_or_gemv<BlockQ5_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q8_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_family<BlockQ8_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q4_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_family<BlockQ4_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q5_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_family<BlockQ5_0>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx512
