// The arm64 integer-format kernels, written once over an int8 dot-product policy `D`:
// q8_0_family_neon.cc and kquant_neon.cc instantiate them with ARMv8.0 NEON (Baseline below),
// dotprod_neon.cc with SDOT. Include only from *_neon.cc files.
//
// Everything here has internal linkage (anonymous namespace): the dotprod file is compiled for
// armv8.2-a+dotprod, and no function of it may be merged with the baseline files' copies.
//
// Bits: every block's integer sum is exact (any order gives the same int), and its float
// scaling and accumulation run lane by lane with the scalar reference's roundings
// (quant/vec_dot.cc), rows in lanes. So gemm, dot, both policies and the reference all agree bit
// for bit. There is no separate GEMV: one token goes through the same tiles (1-token tiles), which
// is what matmul uses for decode when a table has no gemv entry. fp-contract must be off in every
// including file.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quant/blocks.h"

namespace cmdai::cpu {
namespace {

// ---- int8 dot-product policies ----
//
// dot16(acc, w, a): acc plus int32 lanes that add up to sum_k w[k] * a[k] over 16 bytes.
// Activations come from our quantizers (|a| <= 127) and weights are any int8, so two products
// (<= 2 * 128 * 127 = 32512) fit an int16 lane before widening.
struct BaselineDot {
  static inline int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t a) {
    int16x8_t p = vmull_s8(vget_low_s8(w), vget_low_s8(a));
    p = vmlal_high_s8(p, w, a);
    return vpadalq_s16(acc, p);
  }
};

// [sum v0, sum v1, sum v2, sum v3]
inline int32x4_t reduce4(const int32x4_t* v) {
  return vpaddq_s32(vpaddq_s32(v[0], v[1]), vpaddq_s32(v[2], v[3]));
}

// Four halves (raw bits) to floats; exact, like base/fp16.h's fp16_to_f32.
inline float32x4_t halves_to_f32(const uint16_t* h4) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h4)));
}

inline float half_to_f32(uint16_t h) {
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

// ---- 32-element blocks (q8_0, q4_0, q5_0) x Q8_0 ----

inline void signed_quants(const BlockQ8_0& b, int8x16_t* q) {
  q[0] = vld1q_s8(b.qs);
  q[1] = vld1q_s8(b.qs + 16);
}

inline void signed_quants(const BlockQ4_0& b, int8x16_t* q) {  // low nibbles 0..15, high 16..31
  const uint8x16_t raw = vld1q_u8(b.qs);
  const int8x16_t eight = vdupq_n_s8(8);
  q[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(raw, vdupq_n_u8(0x0F))), eight);
  q[1] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), eight);
}

// 0x10 in byte j where bit j of the 16 bits is set.
inline uint8x16_t spread_bits16(uint16_t bits) {
  const uint8x16_t bytes = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits)),
                                       vdup_n_u8(static_cast<uint8_t>(bits >> 8)));
  const uint8x16_t select = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vandq_u8(vtstq_u8(bytes, select), vdupq_n_u8(0x10));
}

inline void signed_quants(const BlockQ5_0& b, int8x16_t* q) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, sizeof qh);
  const uint8x16_t raw = vld1q_u8(b.qs);
  const int8x16_t sixteen = vdupq_n_s8(16);
  const uint8x16_t lo =
      vorrq_u8(vandq_u8(raw, vdupq_n_u8(0x0F)), spread_bits16(static_cast<uint16_t>(qh)));
  const uint8x16_t hi =
      vorrq_u8(vshrq_n_u8(raw, 4), spread_bits16(static_cast<uint16_t>(qh >> 16)));
  q[0] = vsubq_s8(vreinterpretq_s8_u8(lo), sixteen);
  q[1] = vsubq_s8(vreinterpretq_s8_u8(hi), sixteen);
}

// Rows rb .. rb+3 (a row index past nr repeats the last row: computed, never stored) against
// kTokens tokens t0.. (likewise padded). Lane rr of acc[t] is row rr's running sum for token t:
// sum += float(sumi) * (d_w * d_a), block by block, exactly the reference's sequence.
template <typename D, typename Block, int kTokens>
inline void q8_0_family_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                             const uint8_t* a, size_t a_stride, int64_t t0, int nt, float* y,
                             int64_t y_stride) {
  const Block* rows[4];
  for (int rr = 0; rr < 4; ++rr) {
    rows[rr] = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + std::min(rr, nr - 1)) *
                                                      w_stride);
  }
  const BlockQ8_0* toks[kTokens];
  for (int t = 0; t < kTokens; ++t) {
    toks[t] = reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t0 + std::min(t, nt - 1)) *
                                                         a_stride);
  }
  float32x4_t acc[kTokens];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < nb; ++i) {
    int8x16_t wq[4][2];
    uint16_t wd[4];
    for (int rr = 0; rr < 4; ++rr) {
      signed_quants(rows[rr][i], wq[rr]);
      wd[rr] = rows[rr][i].d;
    }
    const float32x4_t wdf = halves_to_f32(wd);
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8_0& ab = toks[t][i];
      const int8x16_t a0 = vld1q_s8(ab.qs), a1 = vld1q_s8(ab.qs + 16);
      int32x4_t part[4];
      for (int rr = 0; rr < 4; ++rr) {
        part[rr] = D::dot16(D::dot16(vdupq_n_s32(0), wq[rr][0], a0), wq[rr][1], a1);
      }
      const float32x4_t scale = vmulq_f32(wdf, vdupq_n_f32(half_to_f32(ab.d)));
      acc[t] = vaddq_f32(acc[t], vmulq_f32(vcvtq_f32_s32(reduce4(part)), scale));
    }
  }
  for (int t = 0; t < nt; ++t) {
    float out[4];
    vst1q_f32(out, acc[t]);
    for (int rr = 0; rr < nr; ++rr) y[(t0 + t) * y_stride + rb + rr] = out[rr];
  }
}

template <typename D, typename Block>
void gemm_q8_0_family(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                      const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                      int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t rb = r0; rb < r1; rb += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, r1 - rb));
    int64_t t0 = 0;
    for (; t0 + 4 <= n_tokens; t0 += 4) {
      q8_0_family_tile<D, Block, 4>(nb, w, w_stride, rb, nr, a, a_stride, t0, 4, y, y_stride);
    }
    for (; t0 < n_tokens; ++t0) {
      q8_0_family_tile<D, Block, 1>(nb, w, w_stride, rb, nr, a, a_stride, t0, 1, y, y_stride);
    }
  }
}

// ---- K-quants (q4_K, q5_K, q6_K) x Q8_K ----

// One weight super-block decoded to bytes in element order, ready for any number of tokens.
struct KDecoded {
  int8_t q[kQKK];     // q4_K 0..15, q5_K 0..31, q6_K q - 32 (-32..31)
  int32_t scale[16];  // q4_K/q5_K: 8 scales, one per 32 elements; q6_K: 16, one per 16
  int16_t mins[8];    // q4_K/q5_K only
  uint16_t d, dmin;   // raw halves
};

// The 12 packed 6-bit scales/mins bytes as scales 0..7 and mins 0..7 (blocks.h's k_scale_min).
inline void decode_k_scales(const uint8_t* packed, KDecoded* u) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof w);
  const uint32_t sc[2] = {w[0] & 0x3f3f3f3fu, (w[2] & 0x0f0f0f0fu) | ((w[0] >> 2) & 0x30303030u)};
  const uint32_t mn[2] = {w[1] & 0x3f3f3f3fu,
                          ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 2) & 0x30303030u)};
  uint8_t s8[8], m8[8];
  std::memcpy(s8, sc, 8);
  std::memcpy(m8, mn, 8);
  const uint16x8_t s16 = vmovl_u8(vld1_u8(s8));
  vst1q_s32(u->scale, vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(s16))));
  vst1q_s32(u->scale + 4, vreinterpretq_s32_u32(vmovl_high_u16(s16)));
  vst1q_s16(u->mins, vreinterpretq_s16_u16(vmovl_u8(vld1_u8(m8))));
}

inline void decode_k4_nibbles(const uint8_t* qs, KDecoded* u) {
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  for (int c = 0; c < 4; ++c) {  // chunk c: low nibbles = sub-block 2c, high = 2c + 1
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t raw = vld1q_u8(qs + 32 * c + 16 * h);
      vst1q_u8(reinterpret_cast<uint8_t*>(u->q) + 64 * c + 16 * h, vandq_u8(raw, low4));
      vst1q_u8(reinterpret_cast<uint8_t*>(u->q) + 64 * c + 32 + 16 * h, vshrq_n_u8(raw, 4));
    }
  }
}

inline void decode(const BlockQ4_K& b, KDecoded* u) {
  decode_k_scales(b.scales, u);
  decode_k4_nibbles(b.qs, u);
  u->d = b.d;
  u->dmin = b.dmin;
}

inline void decode(const BlockQ5_K& b, KDecoded* u) {
  decode_k_scales(b.scales, u);
  decode_k4_nibbles(b.qs, u);
  const uint8x16_t h[2] = {vld1q_u8(b.qh), vld1q_u8(b.qh + 16)};
  const uint8x16_t sixteen = vdupq_n_u8(0x10);
  auto* q = reinterpret_cast<uint8_t*>(u->q);
  for (int j = 0; j < 8; ++j) {  // sub-block j's fifth bit is bit j of qh[l]
    const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(1u << j));
    for (int k = 0; k < 2; ++k) {
      uint8_t* p = q + 32 * j + 16 * k;
      vst1q_u8(p, vorrq_u8(vld1q_u8(p), vandq_u8(vtstq_u8(h[k], bit), sixteen)));
    }
  }
  u->d = b.d;
  u->dmin = b.dmin;
}

inline void decode(const BlockQ6_K& b, KDecoded* u) {
  const uint8x16_t low4 = vdupq_n_u8(0x0F), two = vdupq_n_u8(0x03);
  const int8x16_t offset = vdupq_n_s8(32);
  for (int h = 0; h < 2; ++h) {  // each half: 128 elements from 64 ql bytes and 32 qh bytes
    uint8x16_t ql[4], qh[2];
    for (int k = 0; k < 4; ++k) ql[k] = vld1q_u8(b.ql + 64 * h + 16 * k);
    for (int k = 0; k < 2; ++k) qh[k] = vld1q_u8(b.qh + 32 * h + 16 * k);
    // Elements 32g + 16k + l (l < 16): nibble of ql[16 * (k + 2 * (g & 1)) + l] (low for g < 2),
    // high bits (qh[16k + l] >> 2g) & 3.
    for (int g = 0; g < 4; ++g) {
      for (int k = 0; k < 2; ++k) {
        const uint8x16_t l = ql[k + 2 * (g & 1)];
        const uint8x16_t nib = g < 2 ? vandq_u8(l, low4) : vshrq_n_u8(l, 4);
        uint8x16_t hi;
        switch (g) {
          case 0:
            hi = vandq_u8(qh[k], two);
            break;
          case 1:
            hi = vandq_u8(vshrq_n_u8(qh[k], 2), two);
            break;
          case 2:
            hi = vandq_u8(vshrq_n_u8(qh[k], 4), two);
            break;
          default:
            hi = vshrq_n_u8(qh[k], 6);
            break;
        }
        const uint8x16_t v = vorrq_u8(nib, vshlq_n_u8(hi, 4));
        vst1q_s8(u->q + 128 * h + 32 * g + 16 * k, vsubq_s8(vreinterpretq_s8_u8(v), offset));
      }
    }
  }
  const int8x16_t sc = vld1q_s8(b.scales);
  const int16x8_t lo = vmovl_s8(vget_low_s8(sc)), hi = vmovl_high_s8(sc);
  vst1q_s32(u->scale, vmovl_s16(vget_low_s16(lo)));
  vst1q_s32(u->scale + 4, vmovl_high_s16(lo));
  vst1q_s32(u->scale + 8, vmovl_s16(vget_low_s16(hi)));
  vst1q_s32(u->scale + 12, vmovl_high_s16(hi));
  u->d = b.d;
  u->dmin = 0;
}

// Unreduced lanes of sumi = sum_j scale_j * (q . a)_j.
template <typename D, bool kQ6>
inline int32x4_t k_quant_part(const KDecoded& u, const int8_t* aq) {
  int32x4_t acc = vdupq_n_s32(0);
  if constexpr (kQ6) {
    for (int s = 0; s < 16; ++s) {
      const int32x4_t p = D::dot16(vdupq_n_s32(0), vld1q_s8(u.q + 16 * s), vld1q_s8(aq + 16 * s));
      acc = vmlaq_n_s32(acc, p, u.scale[s]);
    }
  } else {
    for (int j = 0; j < 8; ++j) {
      int32x4_t p = D::dot16(vdupq_n_s32(0), vld1q_s8(u.q + 32 * j), vld1q_s8(aq + 32 * j));
      p = D::dot16(p, vld1q_s8(u.q + 32 * j + 16), vld1q_s8(aq + 32 * j + 16));
      acc = vmlaq_n_s32(acc, p, u.scale[j]);
    }
  }
  return acc;
}

// Unreduced lanes of summ = sum_j min_j * (bsums[2j] + bsums[2j + 1]) (q4_K/q5_K).
inline int32x4_t k_min_part(const KDecoded& u, const int16_t* bsums) {
  const int16x8_t pairs = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
  const int16x8_t m = vld1q_s16(u.mins);
  return vmlal_high_s16(vmull_s16(vget_low_s16(pairs), vget_low_s16(m)), pairs, m);
}

// Rows rb .. rb+3 in lanes (padded with the last row) x kTokens tokens (padded likewise); per
// block, lane-wise: q4_K/q5_K  sum += (d*da) * sumi - (dmin*da) * summ,
//                   q6_K       sum += (d*da) * sumi, as quant/vec_dot.cc rounds them.
template <typename D, typename Block, int kTokens>
inline void k_quant_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                         const uint8_t* a, size_t a_stride, int64_t t0, int nt, float* y,
                         int64_t y_stride) {
  constexpr bool kQ6 = std::is_same_v<Block, BlockQ6_K>;
  const Block* rows[4];
  for (int rr = 0; rr < 4; ++rr) {
    rows[rr] = reinterpret_cast<const Block*>(w + static_cast<size_t>(rb + std::min(rr, nr - 1)) *
                                                      w_stride);
  }
  const BlockQ8_K* toks[kTokens];
  for (int t = 0; t < kTokens; ++t) {
    toks[t] = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t0 + std::min(t, nt - 1)) *
                                                         a_stride);
  }
  float32x4_t acc[kTokens];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < nb; ++i) {
    KDecoded u[4];
    uint16_t dh[4], dminh[4];
    for (int rr = 0; rr < 4; ++rr) {
      decode(rows[rr][i], &u[rr]);
      dh[rr] = u[rr].d;
      dminh[rr] = u[rr].dmin;
    }
    const float32x4_t wd = halves_to_f32(dh), wdmin = halves_to_f32(dminh);
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8_K& ab = toks[t][i];
      int32x4_t qp[4];
      for (int rr = 0; rr < 4; ++rr) qp[rr] = k_quant_part<D, kQ6>(u[rr], ab.qs);
      const float32x4_t ad = vdupq_n_f32(ab.d);
      const float32x4_t d = vmulq_f32(wd, ad);
      const float32x4_t sumi = vcvtq_f32_s32(reduce4(qp));
      if constexpr (kQ6) {
        acc[t] = vaddq_f32(acc[t], vmulq_f32(d, sumi));
      } else {
        int32x4_t mp[4];
        for (int rr = 0; rr < 4; ++rr) mp[rr] = k_min_part(u[rr], ab.bsums);
        const float32x4_t dmin = vmulq_f32(wdmin, ad);
        const float32x4_t summ = vcvtq_f32_s32(reduce4(mp));
        acc[t] = vaddq_f32(acc[t], vsubq_f32(vmulq_f32(d, sumi), vmulq_f32(dmin, summ)));
      }
    }
  }
  for (int t = 0; t < nt; ++t) {
    float out[4];
    vst1q_f32(out, acc[t]);
    for (int rr = 0; rr < nr; ++rr) y[(t0 + t) * y_stride + rb + rr] = out[rr];
  }
}

template <typename D, typename Block>
void gemm_k_quant(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                  const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  for (int64_t rb = r0; rb < r1; rb += 4) {
    const int nr = static_cast<int>(std::min<int64_t>(4, r1 - rb));
    int64_t t0 = 0;
    for (; t0 + 4 <= n_tokens; t0 += 4) {
      k_quant_tile<D, Block, 4>(nb, w, w_stride, rb, nr, a, a_stride, t0, 4, y, y_stride);
    }
    for (; t0 < n_tokens; ++t0) {
      k_quant_tile<D, Block, 1>(nb, w, w_stride, rb, nr, a, a_stride, t0, 1, y, y_stride);
    }
  }
}

}  // namespace
}  // namespace cmdai::cpu

// Define the integer kernels of kernels_neon.h in namespace `ns` with dot-product policy `D`.
#define CMDAI_DEFINE_NEON_Q8_0_FAMILY(ns, D)                                                       \
  namespace cmdai::cpu::ns {                                                                       \
  void gemm_q8_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_q8_0_family<D, BlockQ8_0>(n, w, ws, r0, r1, a, as, nt, y, ys);                            \
  }                                                                                                \
  void gemm_q4_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_q8_0_family<D, BlockQ4_0>(n, w, ws, r0, r1, a, as, nt, y, ys);                            \
  }                                                                                                \
  void gemm_q5_0(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_q8_0_family<D, BlockQ5_0>(n, w, ws, r0, r1, a, as, nt, y, ys);                            \
  }                                                                                                \
  }

#define CMDAI_DEFINE_NEON_K_QUANTS(ns, D)                                                          \
  namespace cmdai::cpu::ns {                                                                       \
  void gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_k_quant<D, BlockQ4_K>(n, w, ws, r0, r1, a, as, nt, y, ys);                                \
  }                                                                                                \
  void gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_k_quant<D, BlockQ5_K>(n, w, ws, r0, r1, a, as, nt, y, ys);                                \
  }                                                                                                \
  void gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a, \
                 size_t as, int64_t nt, float* y, int64_t ys) {                                    \
    gemm_k_quant<D, BlockQ6_K>(n, w, ws, r0, r1, a, as, nt, y, ys);                                \
  }                                                                                                \
  }
