// Entry points of the AVX-512 (F+BW+VL+DQ+VNNI) kernels, defined in the *_avx512.cc files and
// gathered into a KernelSet by kernels_avx512.cc. The declarations are safe to include from any
// file; the inline helpers at the bottom exist only where the compiler targets AVX-512 (the
// device CMakeLists gives those flags to *_avx512.cc), so no other file can pick them up.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cmdai::cpu::avx512 {

// GemmFn contract (see kernels.h). Every one of these returns the scalar reference's bits
// (quant/vec_dot.cc): exact integer block sums, then the reference's float steps lane by lane.
void gemm_q4_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q5_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q6_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q4_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q5_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q6_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q8_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q4_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q5_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q8_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q4_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q5_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);

// AMX-int8 prefill tiles (kquant_amx.cc), same bits as the tiles above; fewer than 8 tokens go
// to them. Call only where amx_available(): it asks Linux for the AMX state once.
bool amx_available();
void amx_gemm_q4_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                   const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void amx_gemm_q5_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                   const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void amx_gemm_q6_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                   const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);

}  // namespace cmdai::cpu::avx512

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__)
#include <immintrin.h>

#include <cstddef>
#include <cstdlib>

#include "quant/blocks.h"

namespace cmdai::cpu::avx512 {

// Weight panels put 16 rows in the 16 int32 lanes of a register, so one vpdpbusd with a
// broadcast 4-byte activation group does 64 multiply-adds for 16 rows of one token.
constexpr int kPanelRows = 16;

// In-register transpose of a 16x16 matrix of 32-bit elements: afterwards r[k] lane j holds what
// r[j] lane k held. Three rounds of unpacks/128-bit shuffles, 64 instructions.
inline void transpose16_epi32(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // u[4q + m], 128-bit lane L: rows 4q..4q+3 of column 4L + m.
  for (int q = 0; q < 4; ++q) {
    u[4 * q + 0] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
    u[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
    u[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i a0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
    const __m512i a1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xEE);
    const __m512i a2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
    const __m512i a3 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xEE);
    r[m] = _mm512_shuffle_i32x4(a0, a2, 0x88);
    r[4 + m] = _mm512_shuffle_i32x4(a0, a2, 0xDD);
    r[8 + m] = _mm512_shuffle_i32x4(a1, a3, 0x88);
    r[12 + m] = _mm512_shuffle_i32x4(a1, a3, 0xDD);
  }
}

// Prefetches the panel after the one at `panel` (its rows are contiguous in memory) into L1, a
// 1/steps share at each of a panel's steps (a step: one block, or q8_0's group of blocks, of each
// row). A panel reads its 16 rows a step at a time: sixteen interleaved streams that the hardware
// prefetcher does not follow, which left small batches (2-8 tokens, the batched decode of
// `cmdai serve`) waiting on memory. Prefetching a few steps ahead in the same rows instead (16
// short pieces) gained nothing: memory serves one long linear run much better.
class NextPanelPrefetch {
 public:
  // rows_left: rows from `panel` to the end of the caller's range.
  NextPanelPrefetch(const uint8_t* panel, size_t w_stride, int64_t rows_left, int64_t steps)
      : next_(panel + kPanelRows * w_stride) {
    const int64_t next_rows =
        rows_left - kPanelRows < kPanelRows ? rows_left - kPanelRows : kPanelRows;
    share_ = next_rows > 0 && steps > 0
                 ? static_cast<size_t>(next_rows) * w_stride / static_cast<size_t>(steps)
                 : 0;
  }
  void step(int64_t i) const {
    const uint8_t* p = next_ + static_cast<size_t>(i) * share_;
    for (size_t off = 0; off < share_; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T0);
    }
  }

 private:
  const uint8_t* next_;
  size_t share_ = 0;
};

// Lanes [0, nr) of a panel hold real rows.
inline __mmask16 live_rows(int nr) { return static_cast<__mmask16>((1u << nr) - 1u); }

// Byte offsets of rows 0..15 from the panel's first row, for gathers of per-row block fields.
inline __m512i row_offsets(size_t w_stride) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int>(w_stride)));
}

inline int32_t load_i32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// A per-thread buffer that grows as needed (plain malloc, no templates: nothing built here with
// AVX-512 flags may be shared with code that runs on other CPUs).
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t want) {
    if (want > bytes) {
      std::free(p);
      bytes = (want + 63) / 64 * 64;
      p = std::aligned_alloc(64, bytes);
    }
    return p;
  }
};

// ---- K-quant super-blocks as unsigned bytes (shared by the AVX-512 and AMX tiles) ----

enum class KKind { kQ4, kQ5, kQ6 };

template <KKind kKind>
constexpr size_t kBlockBytes = kKind == KKind::kQ4   ? sizeof(BlockQ4_K)
                               : kKind == KKind::kQ5 ? sizeof(BlockQ5_K)
                                                     : sizeof(BlockQ6_K);

// Elements sharing one scale: 32 for q4_K/q5_K, 16 for q6_K.
template <KKind kKind>
constexpr int kSubBlock = kKind == KKind::kQ6 ? 16 : 32;

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
      return _mm512_or_si512(_mm512_and_si512(l, low4),
                             _mm512_and_si512(_mm512_slli_epi16(hb, 4), two_bits));
    }
    return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                           _mm512_and_si512(hb, two_bits));
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
      const uint64_t lo =
          _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * c))));
      const uint64_t hi =
          _mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))));
      v = _mm512_mask_add_epi8(v, static_cast<__mmask64>(lo | (hi << 32)), v, _mm512_set1_epi8(16));
    }
    return v;
  }
}

// Per-row block fields of a 16-row panel, rows in lanes (rows past the live mask are zero).
struct KParams {
  __m512i scale[16];  // sub-block s: int32 scale of each row (8 used for q4_K/q5_K)
  __m512i bias[8];    // int16 pairs multiplying bsums pair k: (min_k, min_k) or (sc_2k, sc_2k+1)
  __m512 d, dmin;
};

// Gathers the fields of the super-blocks at base + offsets[r] (one per row).
template <KKind kKind>
inline void gather_k_params(const uint8_t* base, __m512i offsets, __mmask16 live, KParams* p) {
  const __m512i zero = _mm512_setzero_si512();
  auto gather = [&](size_t offset) {
    return _mm512_mask_i32gather_epi32(zero, live, offsets, base + offset, 1);
  };
  const __m512i byte = _mm512_set1_epi32(0xFF);
  if constexpr (kKind == KKind::kQ6) {
    const __m512i dword =
        gather(offsetof(BlockQ6_K, d) - 2);  // scales[14..15], d: stays in the block
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
    const __m512i sc_hi =
        _mm512_or_si512(_mm512_and_si512(w2, m0f), _mm512_and_si512(_mm512_srli_epi32(w0, 2), m30));
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
}

}  // namespace cmdai::cpu::avx512
#endif
