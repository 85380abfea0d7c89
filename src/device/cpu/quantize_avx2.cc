// AVX2 activation quantizers (q8_0, q8_K, f16), bit-identical to quant/quantize.cc.
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "device/cpu/kernels_avx2.h"
#include "device/cpu/simd_avx2.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference (compiled without FMA): see simd_avx2.h.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx2 {
namespace {

// ---- activation quantizers (bit-identical to quant/quantize.cc) ----

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Rounds 32 floats times `mul` half-to-even and stores them as int8 (values within +-127).
inline void round_store_32(const float* x, __m256 mul, int8_t* out) {
  __m256i q[4];
  for (int k = 0; k < 4; ++k) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), mul);
    q[k] = _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    q[k] = _mm256_min_epi32(q[k], _mm256_set1_epi32(127));
  }
  // packs interleave 128-bit lanes; the final permute puts the 8-byte groups back in order.
  const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i b = _mm256_packs_epi16(w01, w23);
  const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), ordered);
}

}  // namespace

void quantize_q8_0(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    __m256 m = abs_ps(_mm256_loadu_ps(x));
    for (int k = 1; k < 4; ++k) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + 8 * k)));
    const float amax = hmax(m);
    y[i].d = f32_to_fp16(amax / 127.0f);
    round_store_32(x, _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f), y[i].qs);
  }
}

void quantize_q8_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < kQKK; k += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + k)));
    const float amax = hmax(m);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    // The first element reaching amax decides the sign, as in the reference's strict '>' scan.
    float max = amax;
    const __m256 target = _mm256_set1_ps(amax);
    for (int k = 0; k < kQKK; k += 8) {
      const int hits =
          _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + k)), target, _CMP_EQ_OQ));
      if (hits != 0) {
        max = x[k + __builtin_ctz(static_cast<unsigned>(hits))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    for (int k = 0; k < kQKK; k += 32) round_store_32(x + k, _mm256_set1_ps(iscale), y[i].qs + k);
    for (int g = 0; g < kQKK / 16; ++g) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(y[i].qs + 16 * g));
      const __m128i pairs = _mm_maddubs_epi16(_mm_set1_epi8(1), q);
      __m128i s = _mm_madd_epi16(pairs, _mm_set1_epi16(1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
      y[i].bsums[g] = static_cast<int16_t>(_mm_cvtsi128_si32(s));
    }
    y[i].d = 1.0f / iscale;
  }
}

void quantize_f16(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

}  // namespace cmdai::cpu::avx2
