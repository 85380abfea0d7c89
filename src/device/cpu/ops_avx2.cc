// AVX2/FMA/F16C attention inner loops (eight halves converted and multiplied per instruction) and
// the FFN's SwiGLU with a vector exponential.
#include <immintrin.h>

#include <cmath>

#include "base/fp16.h"
#include "device/cpu/ops_kernels.h"

namespace cmdai::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

float dot_f16(const float* x, const uint16_t* y, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), load_f16x8(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), load_f16x8(y + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), load_f16x8(y + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += x[i] * fp16_to_f32(y[i]);
  return sum;
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16x8(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * fp16_to_f32(x[i]);
}

// scores_f16 for exactly kG heads: two accumulators per head over alternate 8-value chunks, as
// dot_f16 has, so 2 * kG + 2 registers (kG <= 6 fits AVX2's sixteen).
template <int kG>
void scores_f16_group(const float* const* q, const uint16_t* k, int64_t stride, int64_t n_keys,
                      int64_t n, float scale, float* const* scores) {
  for (int64_t j = 0; j < n_keys; ++j) {
    const uint16_t* row = k + j * stride;
    __m256 acc0[kG], acc1[kG];
    for (int h = 0; h < kG; ++h) acc0[h] = acc1[h] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __m256 k0 = load_f16x8(row + i), k1 = load_f16x8(row + i + 8);
      for (int h = 0; h < kG; ++h) {
        acc0[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + i), k0, acc0[h]);
        acc1[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q[h] + i + 8), k1, acc1[h]);
      }
    }
    for (int h = 0; h < kG; ++h) scores[h][j] = hsum(_mm256_add_ps(acc0[h], acc1[h])) * scale;
  }
}

// weighted_sum_f16 for exactly kG heads, 16 values of every head at a time, every key into the
// same registers.
template <int kG>
void weighted_sum_f16_group(const float* const* w, const uint16_t* v, int64_t stride,
                            int64_t n_keys, int64_t n, float* const* out) {
  for (int64_t i = 0; i < n; i += 16) {
    __m256 acc0[kG], acc1[kG];
    for (int h = 0; h < kG; ++h) acc0[h] = acc1[h] = _mm256_setzero_ps();
    for (int64_t j = 0; j < n_keys; ++j) {
      const __m256 v0 = load_f16x8(v + j * stride + i), v1 = load_f16x8(v + j * stride + i + 8);
      for (int h = 0; h < kG; ++h) {
        const __m256 weight = _mm256_broadcast_ss(w[h] + j);
        acc0[h] = _mm256_fmadd_ps(weight, v0, acc0[h]);
        acc1[h] = _mm256_fmadd_ps(weight, v1, acc1[h]);
      }
    }
    for (int h = 0; h < kG; ++h) {
      _mm256_storeu_ps(out[h] + i, acc0[h]);
      _mm256_storeu_ps(out[h] + i + 8, acc1[h]);
    }
  }
}

void scores_f16(const float* const* q, int g, const uint16_t* k, int64_t stride, int64_t n_keys,
                int64_t n, float scale, float* const* scores) {
  switch (g) {
    case 1:
      return scores_f16_group<1>(q, k, stride, n_keys, n, scale, scores);
    case 2:
      return scores_f16_group<2>(q, k, stride, n_keys, n, scale, scores);
    case 3:
      return scores_f16_group<3>(q, k, stride, n_keys, n, scale, scores);
    case 4:
      return scores_f16_group<4>(q, k, stride, n_keys, n, scale, scores);
    case 5:
      return scores_f16_group<5>(q, k, stride, n_keys, n, scale, scores);
    default:
      return scores_f16_group<6>(q, k, stride, n_keys, n, scale, scores);
  }
}

void weighted_sum_f16(const float* const* w, int g, const uint16_t* v, int64_t stride,
                      int64_t n_keys, int64_t n, float* const* out) {
  switch (g) {
    case 1:
      return weighted_sum_f16_group<1>(w, v, stride, n_keys, n, out);
    case 2:
      return weighted_sum_f16_group<2>(w, v, stride, n_keys, n, out);
    case 3:
      return weighted_sum_f16_group<3>(w, v, stride, n_keys, n, out);
    case 4:
      return weighted_sum_f16_group<4>(w, v, stride, n_keys, n, out);
    case 5:
      return weighted_sum_f16_group<5>(w, v, stride, n_keys, n, out);
    default:
      return weighted_sum_f16_group<6>(w, v, stride, n_keys, n, out);
  }
}

void round_to_f16(const float* x, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(half));
  }
  for (; i < n; ++i) out[i] = fp16_to_f32(f32_to_fp16(x[i]));
}

// e^x for x in [-87, 88], within ~2 float ulps: x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor
// series to r^6 (truncation < 2e-7 relative), 2^n built in the exponent bits.
inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);  // ln2, high part
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);     // ln2, low part
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i two_n =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(two_n));
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace

const AttentionKernels& avx2_attention_kernels() {
  static const AttentionKernels kernels{"avx2",     dot_f16,          axpy_f16,    swiglu,
                                        scores_f16, weighted_sum_f16, round_to_f16};
  return kernels;
}

}  // namespace cmdai::cpu
