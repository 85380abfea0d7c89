// Small AVX2 helpers shared by the *_avx2.cc kernel files. Include it only from files compiled
// with -mavx2 -mfma -mf16c (the device CMakeLists gives those flags to *_avx2.cc).
//
// Every kernel file also sets fp-contract=off: the K-quant kernels promise the scalar
// reference's exact bits, which needs each scalar multiply and add rounded separately even though
// FMA is enabled for these files (vector FMAs are written as explicit intrinsics).
#pragma once

#include <immintrin.h>

#include <cstdint>

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

}  // namespace cmdai::cpu::avx2
