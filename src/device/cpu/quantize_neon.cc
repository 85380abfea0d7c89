// NEON activation quantizers (q8_0, q8_K, f16), bit-identical to quant/quantize.cc.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "device/cpu/kernels_neon.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference: no fused multiply-add contraction.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::neon {
namespace {

// Largest |x| of n (a multiple of 16) floats. FMAXNM skips NaN like the reference's std::max.
inline float abs_max(const float* x, int n) {
  float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0, m2 = m0, m3 = m0;
  for (int k = 0; k < n; k += 16) {
    m0 = vmaxnmq_f32(m0, vabsq_f32(vld1q_f32(x + k)));
    m1 = vmaxnmq_f32(m1, vabsq_f32(vld1q_f32(x + k + 4)));
    m2 = vmaxnmq_f32(m2, vabsq_f32(vld1q_f32(x + k + 8)));
    m3 = vmaxnmq_f32(m3, vabsq_f32(vld1q_f32(x + k + 12)));
  }
  return vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)));
}

// Rounds 16 floats times `mul` half-to-even (FCVTNS) and stores them as int8, at most 127.
// Quantizer inputs scale to within +-127.0x, where this equals quant/quantize.cc's round_even.
inline int8x16_t round_16(const float* x, float32x4_t mul) {
  int32x4_t q[4];
  for (int k = 0; k < 4; ++k) {
    q[k] = vminq_s32(vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 4 * k), mul)), vdupq_n_s32(127));
  }
  const int16x8_t lo = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
  const int16x8_t hi = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
  return vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
}

}  // namespace

void quantize_q8_0(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float amax = abs_max(x, kQK);
    y[i].d = f32_to_fp16(amax / 127.0f);
    const float32x4_t id = vdupq_n_f32(amax != 0.0f ? 127.0f / amax : 0.0f);
    vst1q_s8(y[i].qs, round_16(x, id));
    vst1q_s8(y[i].qs + 16, round_16(x + 16, id));
  }
}

void quantize_q8_k(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    const float amax = abs_max(x, kQKK);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    // The first element reaching amax decides the sign, as in the reference's strict '>' scan.
    float max = amax;
    for (int k = 0; k < kQKK; ++k) {
      if (std::fabs(x[k]) == amax) {
        max = x[k];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const float32x4_t mul = vdupq_n_f32(iscale);
    for (int g = 0; g < kQKK / 16; ++g) {
      const int8x16_t q = round_16(x + 16 * g, mul);
      vst1q_s8(y[i].qs + 16 * g, q);
      y[i].bsums[g] = static_cast<int16_t>(vaddlvq_s8(q));
    }
    y[i].d = 1.0f / iscale;
  }
}

void quantize_f16(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  }
  for (; i < n; ++i) y[i] = f32_to_fp16(x[i]);
}

}  // namespace cmdai::cpu::neon
