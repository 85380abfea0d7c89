// AVX2 + FMA + F16C kernels: integer dot products on 32 int8 lanes, activation quantizers.
// K-quant dot products reduce each super-block to one exact integer sum, then scale it exactly as
// the reference does, so they return the reference's bits; Q8_0-family ones keep float lanes.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "device/cpu/kernels.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

// Scalar multiply-adds here must round like the reference's (compiled without FMA), so that the
// K-quant results are bit-identical across paths; SIMD FMAs are written as intrinsics.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Pairwise int32 sums of u8 x s8 products (u8 <= 63 here, so the int16 step cannot saturate).
inline __m256i dot_u8_s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Same for two signed vectors: move x's sign onto y so maddubs sees |x| as unsigned.
inline __m256i dot_s8_s8(__m256i x, __m256i y) {
  return dot_u8_s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

// u8 x s8 products summed per 16 bytes and weighted: low half by s_lo, high half by s_hi.
inline __m256i scaled_dot(__m256i u, __m256i s, int s_lo, int s_hi) {
  const __m256i scale = _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>(s_lo)),
                                          _mm_set1_epi16(static_cast<int16_t>(s_hi)));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale);
}

// ---- K-quants x Q8_K ----

// Q4_K (qh == nullptr) and Q5_K super-block: the exact integer sums the reference forms.
inline void k4_k5_sums(const uint8_t* scales, const uint8_t* qs, const uint8_t* qh,
                       const BlockQ8_K& a, int* sumi, int* summ) {
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) k_scale_min(j, scales, &sc[j], &mn[j]);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bit = _mm256_set1_epi8(0x01);
  const __m256i hbits = qh != nullptr ? load256(qh) : _mm256_setzero_si256();
  __m256i acc = _mm256_setzero_si256();
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    if (qh != nullptr) {
      const __m128i shift_lo = _mm_cvtsi32_si128(2 * c), shift_hi = _mm_cvtsi32_si128(2 * c + 1);
      lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, shift_lo), bit), 4));
      hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hbits, shift_hi), bit), 4));
    }
    const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(a.qs + 64 * c)),
                                         _mm256_set1_epi16(sc[2 * c]));
    const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(a.qs + 64 * c + 32)),
                                         _mm256_set1_epi16(sc[2 * c + 1]));
    acc = _mm256_add_epi32(acc, _mm256_add_epi32(p0, p1));
  }
  *sumi = hsum_i32(acc);
  int m = 0;
  for (int j = 0; j < 8; ++j) m += mn[j] * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  *summ = m;
}

float dot_q4_k(int64_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const BlockQ4_K*>(w_row);
  const auto* a = static_cast<const BlockQ8_K*>(a_row);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi, summ;
    k4_k5_sums(w[i].scales, w[i].qs, nullptr, a[i], &sumi, &summ);
    const float d = fp16_to_f32(w[i].d) * a[i].d, dmin = fp16_to_f32(w[i].dmin) * a[i].d;
    sum += d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
  }
  return sum;
}

float dot_q5_k(int64_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const BlockQ5_K*>(w_row);
  const auto* a = static_cast<const BlockQ8_K*>(a_row);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi, summ;
    k4_k5_sums(w[i].scales, w[i].qs, w[i].qh, a[i], &sumi, &summ);
    const float d = fp16_to_f32(w[i].d) * a[i].d, dmin = fp16_to_f32(w[i].dmin) * a[i].d;
    sum += d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
  }
  return sum;
}

// sum_g scale_g * sum((q - 32) * a) over one Q6_K super-block, exactly.
inline int q6_k_sum(const BlockQ6_K& w, const BlockQ8_K& a) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  __m256i acc = _mm256_setzero_si256();
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(w.ql + 64 * h), l1 = load256(w.ql + 64 * h + 32);
    const __m256i hb = load256(w.qh + 32 * h);
    const __m256i q[4] = {
        _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(hb, two), 4)),
        _mm256_or_si256(_mm256_and_si256(l1, low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), two), 4)),
    };
    const int8_t* sc = w.scales + 8 * h;
    for (int k = 0; k < 4; ++k) {
      const __m256i a8 = load256(a.qs + 128 * h + 32 * k);
      acc = _mm256_add_epi32(acc, scaled_dot(q[k], a8, sc[2 * k], sc[2 * k + 1]));
    }
  }
  int offset = 0;  // the -32 of every q, applied through the activation sums
  for (int g = 0; g < 16; ++g) offset += w.scales[g] * a.bsums[g];
  return hsum_i32(acc) - 32 * offset;
}

float dot_q6_k(int64_t n, const void* w_row, const void* a_row) {
  const auto* w = static_cast<const BlockQ6_K*>(w_row);
  const auto* a = static_cast<const BlockQ8_K*>(a_row);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    sum += fp16_to_f32(w[i].d) * a[i].d * static_cast<float>(q6_k_sum(w[i], a[i]));
  }
  return sum;
}

// ---- 32-element blocks x Q8_0 ----

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

template <typename Block, typename Unpack>
float dot_blocks_q8_0(int64_t n, const void* w_row, const void* a_row, Unpack unpack) {
  const auto* w = static_cast<const Block*>(w_row);
  const auto* a = static_cast<const BlockQ8_0*>(a_row);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = n / kQK;
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    const __m256i p0 = dot_s8_s8(unpack(w[i]), load256(a[i].qs));
    const __m256i p1 = dot_s8_s8(unpack(w[i + 1]), load256(a[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16_to_f32(w[i].d) * fp16_to_f32(a[i].d)),
                           _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(fp16_to_f32(w[i + 1].d) * fp16_to_f32(a[i + 1].d)),
                           _mm256_cvtepi32_ps(p1), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i p = dot_s8_s8(unpack(w[i]), load256(a[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16_to_f32(w[i].d) * fp16_to_f32(a[i].d)),
                           _mm256_cvtepi32_ps(p), acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

float dot_q8_0(int64_t n, const void* w, const void* a) {
  return dot_blocks_q8_0<BlockQ8_0>(n, w, a, [](const BlockQ8_0& b) { return load256(b.qs); });
}

float dot_q4_0(int64_t n, const void* w, const void* a) {
  return dot_blocks_q8_0<BlockQ4_0>(n, w, a, [](const BlockQ4_0& b) {
    return _mm256_sub_epi8(unpack_nibbles(b.qs), _mm256_set1_epi8(8));
  });
}

float dot_q5_0(int64_t n, const void* w, const void* a) {
  return dot_blocks_q8_0<BlockQ5_0>(n, w, a, [](const BlockQ5_0& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    const __m256i q = _mm256_or_si256(unpack_nibbles(b.qs), spread_bits(qh));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
  });
}

// ---- float formats ----

// Four independent 8-lane accumulators, then the scalar tail.
template <typename Load, typename Scalar>
float dot_floats(int64_t n, Load load, Scalar scalar) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(load(0, i + 8 * k), load(1, i + 8 * k), acc[k]);
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load(0, i), load(1, i), acc[0]);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += scalar(i);
  return sum;
}

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256 load_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

float dot_f32(int64_t n, const void* w_row, const void* a_row) {
  const float* p[2] = {static_cast<const float*>(w_row), static_cast<const float*>(a_row)};
  return dot_floats(
      n, [&](int which, int64_t i) { return _mm256_loadu_ps(p[which] + i); },
      [&](int64_t i) { return p[0][i] * p[1][i]; });
}

float dot_f16(int64_t n, const void* w_row, const void* a_row) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(w_row), static_cast<const uint16_t*>(a_row)};
  return dot_floats(
      n, [&](int which, int64_t i) { return load_f16(p[which] + i); },
      [&](int64_t i) { return fp16_to_f32(p[0][i]) * fp16_to_f32(p[1][i]); });
}

float dot_bf16(int64_t n, const void* w_row, const void* a_row) {
  const uint16_t* p[2] = {static_cast<const uint16_t*>(w_row), static_cast<const uint16_t*>(a_row)};
  return dot_floats(
      n, [&](int which, int64_t i) { return load_bf16(p[which] + i); },
      [&](int64_t i) { return bf16_to_f32(p[0][i]) * bf16_to_f32(p[1][i]); });
}

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
      const int hits = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + k)), target, _CMP_EQ_OQ));
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

KernelSet make_avx2_kernels() {
  KernelSet ks = scalar_kernels();
  ks.name = "avx2";
  ks.dot_f32 = dot_f32;
  ks.dot_f16 = dot_f16;
  ks.dot_bf16 = dot_bf16;
  ks.dot_q4_0 = dot_q4_0;
  ks.dot_q5_0 = dot_q5_0;
  ks.dot_q8_0 = dot_q8_0;
  ks.dot_q4_k = dot_q4_k;
  ks.dot_q5_k = dot_q5_k;
  ks.dot_q6_k = dot_q6_k;
  ks.quantize_q8_0 = quantize_q8_0;
  ks.quantize_q8_k = quantize_q8_k;
  ks.quantize_f16 = quantize_f16;
  return ks;
}

}  // namespace

const KernelSet& avx2_kernels() {
  static const KernelSet ks = make_avx2_kernels();
  return ks;
}

}  // namespace cmdai::cpu
