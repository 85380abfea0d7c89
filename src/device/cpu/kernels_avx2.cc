// AVX2 + FMA + F16C kernels: integer dot products on 32 int8 lanes, activation quantizers.
// K-quant dot products reduce each super-block to one exact integer sum, then scale it exactly as
// the reference does, so they return the reference's bits; Q8_0-family ones keep float lanes.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

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

// F16C conversion: same value as base/fp16.h's portable one, a single instruction.
inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// ---- K-quants x Q8_K ----
//
// Tiles: a group of kRows weight rows against kTokens tokens. Each weight super-block is unpacked
// once per tile (nibbles to bytes, 6-bit scales to int16 lanes) and then reused by every token of
// the tile, so prefill does integer work instead of re-decoding weights per token. Every output
// goes through the same per-block operations in the same order whatever the tile shape, so a row
// split across threads, or a lone token, gives the same bits (and those equal the reference's).

// One super-block ready for dot products with Q8_K blocks.
struct KBlock {
  __m256i q[8];      // quants of 32 consecutive elements each, as unsigned bytes
  __m256i scale[8];  // int16 weights for q[j]'s maddubs pairs (two sub-blocks of 16 for Q6_K)
  __m256i bias;      // int16 weights for the 16 activation bsums: the mins (Q4/5_K), scales (Q6_K)
  float d, dmin;
};

// The 12 packed bytes of 6-bit scales/mins, decoded with 32-bit masks instead of per-byte branches.
inline void unpack_k_scales(const uint8_t* packed, KBlock* u) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof w);
  const uint32_t sc_lo = w[0] & 0x3f3f3f3fu, mn_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
  const uint32_t mn_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
  const __m128i sc = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), 0, 0));
  const __m128i mn = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(mn_lo), static_cast<int>(mn_hi), 0, 0));
  alignas(16) int16_t s16[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(s16), sc);
  for (int j = 0; j < 8; ++j) u->scale[j] = _mm256_set1_epi16(s16[j]);
  u->bias = _mm256_setr_m128i(_mm_unpacklo_epi16(mn, mn), _mm_unpackhi_epi16(mn, mn));
}

inline void unpack_k4_nibbles(const uint8_t* qs, KBlock* u) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(qs + 32 * c);
    u->q[2 * c] = _mm256_and_si256(q, low4);
    u->q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
  }
}

inline void unpack_q4_k(const BlockQ4_K& b, KBlock* u) {
  unpack_k_scales(b.scales, u);
  unpack_k4_nibbles(b.qs, u);
  u->d = h2f(b.d);
  u->dmin = h2f(b.dmin);
}

inline void unpack_q5_k(const BlockQ5_K& b, KBlock* u) {
  unpack_k_scales(b.scales, u);
  unpack_k4_nibbles(b.qs, u);
  const __m256i hbits = load256(b.qh), bit = _mm256_set1_epi8(0x01);
  for (int j = 0; j < 8; ++j) {  // sub-block j's fifth bit is bit j of qh[l]
    const __m256i h = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(j)), bit);
    u->q[j] = _mm256_or_si256(u->q[j], _mm256_slli_epi16(h, 4));
  }
  u->d = h2f(b.d);
  u->dmin = h2f(b.dmin);
}

inline void unpack_q6_k(const BlockQ6_K& b, KBlock* u) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(b.ql + 64 * h), l1 = load256(b.ql + 64 * h + 32);
    const __m256i hb = load256(b.qh + 32 * h);
    auto high = [&](int shift) {
      return _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(shift)), two), 4);
    };
    u->q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, low4), high(0));
    u->q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, low4), high(2));
    u->q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), high(4));
    u->q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), high(6));
  }
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
  u->bias = _mm256_cvtepi8_epi16(sc8);
  alignas(16) int8_t s[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(s), sc8);
  for (int j = 0; j < 8; ++j) {
    u->scale[j] = _mm256_setr_m128i(_mm_set1_epi16(s[2 * j]), _mm_set1_epi16(s[2 * j + 1]));
  }
  u->d = h2f(b.d);
  u->dmin = 0.0f;
}

// The raw (unreduced) integer sum vectors of one unpacked super-block with one Q8_K block.
inline void k_block_vectors(const KBlock& u, const BlockQ8_K& a, __m256i* acc, __m256i* bias) {
  __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(u.q[0], load256(a.qs)), u.scale[0]);
  for (int j = 1; j < 8; ++j) {
    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(u.q[j], load256(a.qs + 32 * j)), u.scale[j]));
  }
  *acc = s;
  *bias = _mm256_madd_epi16(u.bias, load256(a.bsums));
}

// Lane t of the result = the sum of the 8 lanes of v[t].
inline __m256i reduce8(const __m256i* v) {
  const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
  const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
  const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
  const __m128i t0123 = _mm_add_epi32(_mm256_castsi256_si128(h0123), _mm256_extracti128_si256(h0123, 1));
  const __m128i t4567 = _mm_add_epi32(_mm256_castsi256_si128(h4567), _mm256_extracti128_si256(h4567, 1));
  return _mm256_setr_m128i(t0123, t4567);
}

// The tile keeps one 8-lane float sum per row, lane t for token t: the per-block integer sums of
// 8 tokens are reduced together and scaled with vector float operations that round exactly like
// quant/vec_dot.cc's scalar ones, lane by lane.
template <typename Block, void (*kUnpack)(const Block&, KBlock*), bool kQ6>
void gemm_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
            const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  constexpr int kRows = 4, kTokens = 8;
  const int64_t nb = n / kQKK;
  for (int64_t rb = r0; rb < r1; rb += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - rb));
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kTokens, n_tokens - t0));
      __m256 sum[kRows];
      for (auto& v : sum) v = _mm256_setzero_ps();
      for (int64_t i = 0; i < nb; ++i) {
        KBlock u[kRows];
        for (int rr = 0; rr < nr; ++rr) {
          kUnpack(reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + rr) * w_stride)[i], &u[rr]);
        }
        const BlockQ8_K* ab[kTokens];
        alignas(32) float ad_lanes[kTokens] = {};
        for (int t = 0; t < nt; ++t) {
          ab[t] = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t0 + t) * a_stride) + i;
          ad_lanes[t] = ab[t]->d;
        }
        const __m256 ad = _mm256_load_ps(ad_lanes);
        for (int rr = 0; rr < nr; ++rr) {
          __m256i acc[kTokens], bias[kTokens];
          for (int t = 0; t < kTokens; ++t) {
            if (t < nt) {
              k_block_vectors(u[rr], *ab[t], &acc[t], &bias[t]);
            } else {
              acc[t] = bias[t] = _mm256_setzero_si256();
            }
          }
          const __m256i sumi = reduce8(acc), sumb = reduce8(bias);
          const __m256 d = _mm256_mul_ps(_mm256_set1_ps(u[rr].d), ad);
          __m256 value;
          if constexpr (kQ6) {
            value = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, _mm256_slli_epi32(sumb, 5))));
          } else {
            const __m256 dmin = _mm256_mul_ps(_mm256_set1_ps(u[rr].dmin), ad);
            value = _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi)),
                                  _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(sumb)));
          }
          sum[rr] = _mm256_add_ps(sum[rr], value);
        }
      }
      for (int rr = 0; rr < nr; ++rr) {
        alignas(32) float out[kTokens];
        _mm256_store_ps(out, sum[rr]);
        for (int t = 0; t < nt; ++t) y[(t0 + t) * y_stride + rb + rr] = out[t];
      }
    }
  }
}

void gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<BlockQ4_K, unpack_q4_k, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}
void gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<BlockQ5_K, unpack_q5_k, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}
void gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<BlockQ6_K, unpack_q6_k, true>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

// ---- K-quant GEMV (one token): everything stays in registers ----
//
// Decode multiplies by one token, so unpacking a block into a tile buffer would be pure overhead.
// These kernels form the same exact integer sums as the tiles and finish them with the same float
// operations, so their outputs are bit-identical to the tile kernels' (and the reference's).

// Shuffle control copying int16 lane j of each 128-bit half into all 8 lanes of that half.
inline __m256i word_broadcast(int j_lo, int j_hi) {
  return _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>(((2 * j_lo + 1) << 8) | (2 * j_lo))),
                           _mm_set1_epi16(static_cast<int16_t>(((2 * j_hi + 1) << 8) | (2 * j_hi))));
}

inline void reduce_pair(__m256i acc, __m256i b, int* sumi, int* sumb) {
  __m256i h = _mm256_hadd_epi32(acc, b);
  h = _mm256_hadd_epi32(h, h);
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  *sumi = _mm_cvtsi128_si32(s);
  *sumb = _mm_extract_epi32(s, 1);
}

template <bool kQ5>
inline void k45_fused_sums(const uint8_t* packed, const uint8_t* qs, const uint8_t* qh,
                           const BlockQ8_K& a, int* sumi, int* sumb) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof w);
  const uint32_t sc_lo = w[0] & 0x3f3f3f3fu, mn_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t sc_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u);
  const uint32_t mn_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u);
  const __m128i sc = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), 0, 0));
  const __m128i mn = _mm_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(mn_lo), static_cast<int>(mn_hi), 0, 0));
  const __m256i sc2 = _mm256_broadcastsi128_si256(sc);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256i hbits = _mm256_setzero_si256();
  if constexpr (kQ5) hbits = load256(qh);
  __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    if constexpr (kQ5) {
      const __m256i bit = _mm256_set1_epi8(0x01);
      lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), bit), 4));
      hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), bit), 4));
    }
    const __m256i s_lo = _mm256_shuffle_epi8(sc2, word_broadcast(2 * c, 2 * c));
    const __m256i s_hi = _mm256_shuffle_epi8(sc2, word_broadcast(2 * c + 1, 2 * c + 1));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(a.qs + 64 * c)), s_lo));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(a.qs + 64 * c + 32)), s_hi));
  }
  const __m256i bias = _mm256_setr_m128i(_mm_unpacklo_epi16(mn, mn), _mm_unpackhi_epi16(mn, mn));
  reduce_pair(acc, _mm256_madd_epi16(bias, load256(a.bsums)), sumi, sumb);
}

inline void q6_k_fused_sums(const BlockQ6_K& b, const BlockQ8_K& a, int* sumi, int* sumb) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
  const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // lanes: scales 0..7 | 8..15
  // Scale pair for the 32 quants of vector j = 4h + k: sub-blocks 2j (low half), 2j+1 (high half).
  const __m256i first = _mm256_permute2x128_si256(sc16, sc16, 0x00);
  const __m256i second = _mm256_permute2x128_si256(sc16, sc16, 0x11);
  __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(b.ql + 64 * h), l1 = load256(b.ql + 64 * h + 32);
    const __m256i hb = load256(b.qh + 32 * h);
    const __m256i q[4] = {
        _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(hb, two), 4)),
        _mm256_or_si256(_mm256_and_si256(l1, low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), _mm256_set1_epi8(0x30))),
    };
    const __m256i half_scales = h == 0 ? first : second;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i s = _mm256_shuffle_epi8(half_scales, word_broadcast(2 * k, 2 * k + 1));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load256(a.qs + 128 * h + 32 * k)), s));
    }
  }
  reduce_pair(acc, _mm256_madd_epi16(sc16, load256(a.bsums)), sumi, sumb);
}

template <typename Block, bool kQ6>
inline float k_fused_value(const Block& b, const BlockQ8_K& a) {
  int sumi, sumb;
  if constexpr (kQ6) {
    q6_k_fused_sums(b, a, &sumi, &sumb);
    return h2f(b.d) * a.d * static_cast<float>(sumi - 32 * sumb);
  } else {
    if constexpr (std::is_same_v<Block, BlockQ5_K>) {
      k45_fused_sums<true>(b.scales, b.qs, b.qh, a, &sumi, &sumb);
    } else {
      k45_fused_sums<false>(b.scales, b.qs, nullptr, a, &sumi, &sumb);
    }
    const float d = h2f(b.d) * a.d, dmin = h2f(b.dmin) * a.d;
    return d * static_cast<float>(sumi) - dmin * static_cast<float>(sumb);
  }
}

template <typename Block, bool kQ6>
void gemv_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
            const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * a_stride);
    for (int64_t r = r0; r < r1; ++r) {
      const auto* row = reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * w_stride);
      float sum = 0.0f;
      for (int64_t i = 0; i < nb; ++i) sum += k_fused_value<Block, kQ6>(row[i], ab[i]);
      y[t * y_stride + r] = sum;
    }
  }
}

void gemv_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ4_K, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}
void gemv_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ5_K, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}
void gemv_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ6_K, true>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

// A single row and token through the tile kernel, so vec_dot and matmul agree bit for bit.
template <GemmFn kGemm>
float dot_via_gemm(int64_t n, const void* w, const void* a) {
  float y = 0.0f;
  kGemm(n, static_cast<const uint8_t*>(w), 0, 0, 1, static_cast<const uint8_t*>(a), 0, 1, &y, 1);
  return y;
}

// ---- 32-element blocks x Q8_0 ----
//
// Same tiling; each (row, token) keeps an 8-lane float accumulator that takes one fmadd per block,
// reduced once at the end: the order is fixed, so tiles and threads do not change results.

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
  return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles(b.qs), spread_bits(qh)), _mm256_set1_epi8(16));
}

template <typename Block>
void gemm_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  constexpr int kRows = 2, kTokens = 4;
  const int64_t nb = n / kQK;
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t rb = r0; rb < r1; rb += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - rb));
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const int nt = static_cast<int>(std::min<int64_t>(kTokens, n_tokens - t0));
      __m256 acc[kRows][kTokens];
      for (auto& row : acc) for (auto& v : row) v = _mm256_setzero_ps();
      for (int64_t i = 0; i < nb; ++i) {
        __m256i wq[kRows], wabs[kRows];
        float wd[kRows];
        for (int rr = 0; rr < nr; ++rr) {
          const Block& b = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + rr) * w_stride)[i];
          wq[rr] = signed_quants(b);
          wabs[rr] = _mm256_sign_epi8(wq[rr], wq[rr]);
          wd[rr] = h2f(b.d);
        }
        for (int t = 0; t < nt; ++t) {
          const BlockQ8_0& ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t0 + t) * a_stride)[i];
          const __m256i aq = load256(ab.qs);
          const float ad = h2f(ab.d);
          for (int rr = 0; rr < nr; ++rr) {
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs[rr], _mm256_sign_epi8(aq, wq[rr])), ones);
            acc[rr][t] = _mm256_fmadd_ps(_mm256_set1_ps(wd[rr] * ad), _mm256_cvtepi32_ps(p), acc[rr][t]);
          }
        }
      }
      for (int t = 0; t < nt; ++t) {
        for (int rr = 0; rr < nr; ++rr) y[(t0 + t) * y_stride + rb + rr] = hsum(acc[rr][t]);
      }
    }
  }
}

// One token, kRows rows at once with every accumulator in a register: the same per-(row, token)
// fmadd sequence as gemm_q8_0_family, so the bits match; kRows independent chains hide latency.
template <typename Block, int kRows>
inline void gemv_q8_0_rows(int64_t nb, const uint8_t* w, size_t w_stride, int64_t r,
                           const BlockQ8_0* ab, float* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kRows];
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i aq = load256(ab[i].qs);
    const float ad = h2f(ab[i].d);
    for (int rr = 0; rr < kRows; ++rr) {
      const Block& b = reinterpret_cast<const Block*>(w + static_cast<size_t>(r + rr) * w_stride)[i];
      const __m256i wq = signed_quants(b);
      const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(aq, wq)), ones);
      acc[rr] = _mm256_fmadd_ps(_mm256_set1_ps(h2f(b.d) * ad), _mm256_cvtepi32_ps(p), acc[rr]);
    }
  }
  for (int rr = 0; rr < kRows; ++rr) out[rr] = hsum(acc[rr]);
}

template <typename Block>
void gemv_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * a_stride);
    float* yt = y + t * y_stride;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) gemv_q8_0_rows<Block, 4>(nb, w, w_stride, r, ab, yt + r);
    for (; r < r1; ++r) gemv_q8_0_rows<Block, 1>(nb, w, w_stride, r, ab, yt + r);
  }
}

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
        for (int64_t k = i + (step8 ? 8 : 0); k < n; ++k) sum += F::scalar(wr[k]) * F::scalar(at[t][k]);
        y[(t0 + t) * y_stride + r] = sum;
      }
    }
  }
}

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
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
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
  ks.dot_f32 = dot_via_gemm<gemm_f32>;
  ks.dot_f16 = dot_via_gemm<gemm_f16>;
  ks.dot_bf16 = dot_via_gemm<gemm_bf16>;
  ks.gemm_f32 = gemm_f32;
  ks.gemm_f16 = gemm_f16;
  ks.gemm_bf16 = gemm_bf16;
  ks.exact_dot = exact_dot;
  ks.dot_q4_0 = dot_via_gemm<gemm_q4_0>;
  ks.dot_q5_0 = dot_via_gemm<gemm_q5_0>;
  ks.dot_q8_0 = dot_via_gemm<gemm_q8_0>;
  ks.dot_q4_k = dot_via_gemm<gemm_q4_k>;
  ks.dot_q5_k = dot_via_gemm<gemm_q5_k>;
  ks.dot_q6_k = dot_via_gemm<gemm_q6_k>;
  ks.gemm_q4_0 = gemm_q4_0;
  ks.gemm_q5_0 = gemm_q5_0;
  ks.gemm_q8_0 = gemm_q8_0;
  ks.gemm_q4_k = gemm_q4_k;
  ks.gemm_q5_k = gemm_q5_k;
  ks.gemm_q6_k = gemm_q6_k;
  ks.gemv_q4_k = gemv_q4_k;
  ks.gemv_q5_k = gemv_q5_k;
  ks.gemv_q6_k = gemv_q6_k;
  ks.gemv_q8_0 = gemv_q8_0;
  ks.gemv_q4_0 = gemv_q4_0;
  ks.gemv_q5_0 = gemv_q5_0;
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
