// AVX2 kernels for float weights (f32, f16, bf16) and the double-accumulating exact dot.
#include <immintrin.h>

#include <algorithm>

#include "base/fp16.h"
#include "device/cpu/kernels_avx2.h"
#include "device/cpu/simd_avx2.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference (compiled without FMA): see simd_avx2.h.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx2 {
namespace {

// ---- float formats ----
//
// Tiles of 1 row x 4 tokens: each weight vector is loaded (and converted) once for 4 tokens. Each
// (row, token) sums 16-element steps into two 8-lane accumulators, then one 8-element step, then a
// scalar tail, the same sequence in any tile, so splits do not change results.

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256 load_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

struct F32Format {
  using Elem = float;
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static float scalar(float v) { return v; }
};
struct F16Format {
  using Elem = uint16_t;
  static __m256 load(const uint16_t* p) { return load_f16(p); }
  static float scalar(uint16_t v) { return h2f(v); }
};
struct BF16Format {
  using Elem = uint16_t;
  static __m256 load(const uint16_t* p) { return load_bf16(p); }
  static float scalar(uint16_t v) { return bf16_to_f32(v); }
};

template <typename F>
void gemm_floats(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                 const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  using E = typename F::Elem;
  constexpr int kTokens = 4;
  for (int64_t r = r0; r < r1; ++r) {
    const E* wr = reinterpret_cast<const E*>(w + static_cast<size_t>(r) * w_stride);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kTokens, n_tokens - t0));
      const E* at[kTokens];
      __m256 acc0[kTokens], acc1[kTokens];
      for (int t = 0; t < nt; ++t) {
        at[t] = reinterpret_cast<const E*>(a + static_cast<size_t>(t0 + t) * a_stride);
        acc0[t] = _mm256_setzero_ps(), acc1[t] = _mm256_setzero_ps();
      }
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) {
        const __m256 w0 = F::load(wr + i), w1 = F::load(wr + i + 8);
        for (int t = 0; t < nt; ++t) {
          acc0[t] = _mm256_fmadd_ps(w0, F::load(at[t] + i), acc0[t]);
          acc1[t] = _mm256_fmadd_ps(w1, F::load(at[t] + i + 8), acc1[t]);
        }
      }
      const bool step8 = i + 8 <= n;
      const __m256 w8 = step8 ? F::load(wr + i) : _mm256_setzero_ps();
      for (int t = 0; t < nt; ++t) {
        if (step8) acc0[t] = _mm256_fmadd_ps(w8, F::load(at[t] + i), acc0[t]);
        float sum = hsum(_mm256_add_ps(acc0[t], acc1[t]));
        for (int64_t k = i + (step8 ? 8 : 0); k < n; ++k)
          sum += F::scalar(wr[k]) * F::scalar(at[t][k]);
        y[(t0 + t) * y_stride + r] = sum;
      }
    }
  }
}

}  // namespace

void gemm_f32(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
              size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_floats<F32Format>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_f16(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
              size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_floats<F16Format>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_bf16(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_floats<BF16Format>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

// f32 x f32 summed in double: products of two floats are exact in double, so only the order of
// the additions differs from the scalar reference.
double exact_dot(const float* w, const float* x, int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 4; ++k) {
      const __m256d wv = _mm256_cvtps_pd(_mm_loadu_ps(w + i + 4 * k));
      acc[k] = _mm256_fmadd_pd(wv, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * k)), acc[k]);
    }
  }
  const __m256d s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  for (; i < n; ++i) sum += static_cast<double>(w[i]) * x[i];
  return sum;
}

}  // namespace cmdai::cpu::avx2
