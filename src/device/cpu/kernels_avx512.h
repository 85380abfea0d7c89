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

}  // namespace cmdai::cpu::avx512

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#include <immintrin.h>

#include <cstdlib>

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

}  // namespace cmdai::cpu::avx512
#endif
