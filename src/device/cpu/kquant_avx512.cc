// AVX-512 VNNI K-quant (q4_K, q5_K, q6_K) x Q8_K prefill tiles.
//
// A tile is a panel of 16 weight rows, one per int32 lane: each super-block of the 16 rows is
// unpacked to bytes and transposed once (64 registers: register g holds bytes 4g..4g+3 of every
// row), together with the rows' scales, mins and d/dmin as 16-lane vectors. Then every token runs
// against the panel: vpdpbusd with the token's 4-byte group broadcast from memory adds 64 products
// for 16 rows at a time, an exact int32 sum per sub-block that vpmulld scales. The per-block float
// steps are the reference's (quant/vec_dot.cc), lane by lane, so every output has the reference's
// bits whatever the tile shape, thread split or kernel table (the one-token path stays the AVX2
// GEMV, which gives the same bits).
// GCC 12 warns about its own _mm512_undefined_* helpers (a self-initialised variable).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "device/cpu/kernels_avx2.h"
#include "device/cpu/kernels_avx512.h"
#include "quant/blocks.h"

// Scalar and vector multiply-adds must round like the reference (compiled without FMA).
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx512 {
namespace {

enum class KKind { kQ4, kQ5, kQ6 };

template <KKind kKind>
constexpr size_t kBlockBytes = kKind == KKind::kQ4 ? sizeof(BlockQ4_K)
                               : kKind == KKind::kQ5 ? sizeof(BlockQ5_K)
                                                     : sizeof(BlockQ6_K);

// Elements sharing one scale: 32 for q4_K/q5_K, 16 for q6_K.
template <KKind kKind>
constexpr int kSubBlock = kKind == KKind::kQ6 ? 16 : 32;

struct alignas(64) KPanel {
  __m512i w[64];      // group g: lane r = unpacked quants 4g..4g+3 of row r (unsigned bytes)
  __m512i scale[16];  // sub-block s: int32 scale of each row (8 used for q4_K/q5_K)
  __m512i bias[8];    // int16 pairs multiplying bsums pair k: (min_k, min_k) or (sc_2k, sc_2k+1)
  __m512 d, dmin;
};

// Chunk c (elements 64c..64c+63) of one row's super-block as unsigned bytes.
template <KKind kKind>
inline __m512i unpack_chunk(const uint8_t* block, int c) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  if constexpr (kKind == KKind::kQ6) {
    const auto& b = *reinterpret_cast<const BlockQ6_K*>(block);
    const int h = c / 2;
    const __m512i l = _mm512_loadu_si512(b.ql + 64 * h);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    const __m512i hb = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
    const __m512i two_bits = _mm512_set1_epi8(0x30);
    if (c % 2 == 0) {
      return _mm512_or_si512(_mm512_and_si512(l, low4), _mm512_and_si512(_mm512_slli_epi16(hb, 4), two_bits));
    }
    return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4), _mm512_and_si512(hb, two_bits));
  } else {
    // Sub-blocks 2c (low nibbles of qs[32c..]) and 2c+1 (high nibbles).
    const uint8_t* qs = kKind == KKind::kQ4 ? reinterpret_cast<const BlockQ4_K*>(block)->qs
                                            : reinterpret_cast<const BlockQ5_K*>(block)->qs;
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
    __m512i v = _mm512_and_si512(
        _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1), low4);
    if constexpr (kKind == KKind::kQ5) {
      const __m256i qh = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ5_K*>(block)->qh));
      const uint64_t lo = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * c))));
      const uint64_t hi = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))));
      v = _mm512_mask_add_epi8(v, static_cast<__mmask64>(lo | (hi << 32)), v, _mm512_set1_epi8(16));
    }
    return v;
  }
}

// Super-block i of rows [0, nr) of the panel starting at w (rows past nr are zero).
template <KKind kKind>
void build_panel(const uint8_t* w, size_t w_stride, __m512i offsets, int nr, int64_t i, KPanel* p) {
  const uint8_t* base = w + static_cast<size_t>(i) * kBlockBytes<kKind>;
  const __mmask16 live = live_rows(nr);
  const __m512i zero = _mm512_setzero_si512();
  auto gather = [&](size_t offset) {
    return _mm512_mask_i32gather_epi32(zero, live, offsets, base + offset, 1);
  };
  const __m512i byte = _mm512_set1_epi32(0xFF);
  if constexpr (kKind == KKind::kQ6) {
    const __m512i dword = gather(offsetof(BlockQ6_K, d) - 2);  // scales[14..15], d: stays in the block
    p->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dword, 16)));
    p->dmin = _mm512_setzero_ps();
    for (int q = 0; q < 4; ++q) {
      const __m512i s = gather(offsetof(BlockQ6_K, scales) + 4 * q);
      p->scale[4 * q + 0] = _mm512_srai_epi32(_mm512_slli_epi32(s, 24), 24);
      p->scale[4 * q + 1] = _mm512_srai_epi32(_mm512_slli_epi32(s, 16), 24);
      p->scale[4 * q + 2] = _mm512_srai_epi32(_mm512_slli_epi32(s, 8), 24);
      p->scale[4 * q + 3] = _mm512_srai_epi32(s, 24);
    }
    for (int k = 0; k < 8; ++k) {
      p->bias[k] = _mm512_or_si512(_mm512_and_si512(p->scale[2 * k], _mm512_set1_epi32(0xFFFF)),
                                   _mm512_slli_epi32(p->scale[2 * k + 1], 16));
    }
  } else {
    // Header: d, dmin, then the 12 packed bytes of 6-bit scales and mins (blocks.h).
    const __m512i dm = gather(0), w0 = gather(4), w1 = gather(8), w2 = gather(12);
    p->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
    p->dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
    const __m512i m3f = _mm512_set1_epi32(0x3f3f3f3f), m0f = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i m30 = _mm512_set1_epi32(0x30303030);
    const __m512i sc_lo = _mm512_and_si512(w0, m3f), mn_lo = _mm512_and_si512(w1, m3f);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(w2, m0f), _mm512_and_si512(_mm512_srli_epi32(w0, 2), m30));
    const __m512i mn_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 4), m0f),
                                          _mm512_and_si512(_mm512_srli_epi32(w1, 2), m30));
    for (int j = 0; j < 4; ++j) {
      p->scale[j] = _mm512_and_si512(_mm512_srli_epi32(sc_lo, 8 * j), byte);
      p->scale[4 + j] = _mm512_and_si512(_mm512_srli_epi32(sc_hi, 8 * j), byte);
      const __m512i m_lo = _mm512_and_si512(_mm512_srli_epi32(mn_lo, 8 * j), byte);
      const __m512i m_hi = _mm512_and_si512(_mm512_srli_epi32(mn_hi, 8 * j), byte);
      p->bias[j] = _mm512_or_si512(m_lo, _mm512_slli_epi32(m_lo, 16));
      p->bias[4 + j] = _mm512_or_si512(m_hi, _mm512_slli_epi32(m_hi, 16));
    }
  }
  for (int c = 0; c < 4; ++c) {
    __m512i r[kPanelRows];
    for (int row = 0; row < kPanelRows; ++row) {
      r[row] = row < nr ? unpack_chunk<kKind>(base + static_cast<size_t>(row) * w_stride, c) : zero;
    }
    transpose16_epi32(r);
    for (int k = 0; k < 16; ++k) p->w[16 * c + k] = r[k];
  }
}

// Tokens [t0, t0 + T) against the panel of super-block i: adds each (row, token) block value to
// fsum[t * 16 + row], in block order like the reference's running sum.
template <KKind kKind, int T>
inline void panel_tokens(const KPanel& p, const uint8_t* a, size_t a_stride, int64_t t0, int64_t i,
                         float* fsum) {
  constexpr int kSub = kSubBlock<kKind>, kSubs = kQKK / kSub, kGroups = kSub / 4;
  const BlockQ8_K* ab[T];
  for (int t = 0; t < T; ++t) {
    ab[t] = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t0 + t) * a_stride) + i;
  }
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int s = 0; s < kSubs; ++s) {
    __m512i acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int g = s * kGroups; g < (s + 1) * kGroups; ++g) {
      const __m512i wg = p.w[g];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        acc[t] = _mm512_dpbusd_epi32(acc[t], wg, _mm512_set1_epi32(load_i32(ab[t]->qs + 4 * g)));
      }
    }
    for (int t = 0; t < T; ++t) sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(acc[t], p.scale[s]));
  }
  for (int t = 0; t < T; ++t) {
    __m512i b = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      b = _mm512_dpwssd_epi32(b, p.bias[k], _mm512_set1_epi32(load_i32(ab[t]->bsums + 2 * k)));
    }
    const __m512 ad = _mm512_set1_ps(ab[t]->d);
    __m512 value;
    if constexpr (kKind == KKind::kQ6) {
      // Reference: d * a.d * float(sum of sc * (q - 32) * a), the -32 folded in as 32 * bsums.
      value = _mm512_mul_ps(_mm512_mul_ps(p.d, ad), _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[t], _mm512_slli_epi32(b, 5))));
    } else {
      const __m512 d = _mm512_mul_ps(p.d, ad), dmin = _mm512_mul_ps(p.dmin, ad);
      value = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi[t])), _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(b)));
    }
    float* out = fsum + (t0 + t) * kPanelRows;
    _mm512_store_ps(out, _mm512_add_ps(_mm512_load_ps(out), value));
  }
}

thread_local Scratch tile_sums;

template <KKind kKind>
void gemm_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
            const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  auto* fsum = static_cast<float*>(tile_sums.get(sizeof(float) * kPanelRows * static_cast<size_t>(n_tokens)));
  const __m512i offsets = row_offsets(w_stride);
  KPanel p;
  for (int64_t rb = r0; rb < r1; rb += kPanelRows) {
    const int nr = static_cast<int>(r1 - rb < kPanelRows ? r1 - rb : kPanelRows);
    const uint8_t* wr = w + static_cast<size_t>(rb) * w_stride;
    std::memset(fsum, 0, sizeof(float) * kPanelRows * static_cast<size_t>(n_tokens));
    for (int64_t i = 0; i < nb; ++i) {
      build_panel<kKind>(wr, w_stride, offsets, nr, i, &p);
      int64_t t = 0;
      for (; t + 8 <= n_tokens; t += 8) panel_tokens<kKind, 8>(p, a, a_stride, t, i, fsum);
      if (t + 4 <= n_tokens) panel_tokens<kKind, 4>(p, a, a_stride, t, i, fsum), t += 4;
      if (t + 2 <= n_tokens) panel_tokens<kKind, 2>(p, a, a_stride, t, i, fsum), t += 2;
      if (t < n_tokens) panel_tokens<kKind, 1>(p, a, a_stride, t, i, fsum);
    }
    const __mmask16 live = live_rows(nr);
    for (int64_t t = 0; t < n_tokens; ++t) {
      _mm512_mask_storeu_ps(y + t * y_stride + rb, live, _mm512_load_ps(fsum + t * kPanelRows));
    }
  }
}

}  // namespace

// One token goes through the AVX2 GEMV: same bits (both are the reference's), no panel to build.
void gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return avx2::gemv_q4_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ4>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return avx2::gemv_q5_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ5>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return avx2::gemv_q6_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ6>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx512
