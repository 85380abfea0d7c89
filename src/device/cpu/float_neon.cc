// NEON kernels for float weights (f32, f16, bf16) and the double-accumulating exact dot.
#include <arm_neon.h>

#include <algorithm>

#include "base/fp16.h"
#include "device/cpu/kernels_neon.h"

// Scalar multiply-adds must round like the reference: no fused multiply-add contraction.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::neon {
namespace {

// Tiles of 1 row x 4 tokens: each weight vector is loaded (and converted) once for 4 tokens.
// Each (row, token) sums 8-element steps into two 4-lane FMA accumulators, then one 4-element
// step, then a scalar tail: the same sequence in any tile, so splits do not change results.

struct F32Format {
  using Elem = float;
  static float32x4_t load(const float* p) { return vld1q_f32(p); }
  static float scalar(float v) { return v; }
};
struct F16Format {
  using Elem = uint16_t;
  static float32x4_t load(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
  }
  static float scalar(uint16_t v) { return fp16_to_f32(v); }
};
struct BF16Format {
  using Elem = uint16_t;
  static float32x4_t load(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
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
      float32x4_t acc0[kTokens], acc1[kTokens];
      for (int t = 0; t < nt; ++t) {
        at[t] = reinterpret_cast<const E*>(a + static_cast<size_t>(t0 + t) * a_stride);
        acc0[t] = vdupq_n_f32(0.0f), acc1[t] = vdupq_n_f32(0.0f);
      }
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        const float32x4_t w0 = F::load(wr + i), w1 = F::load(wr + i + 4);
        for (int t = 0; t < nt; ++t) {
          acc0[t] = vfmaq_f32(acc0[t], w0, F::load(at[t] + i));
          acc1[t] = vfmaq_f32(acc1[t], w1, F::load(at[t] + i + 4));
        }
      }
      const bool step4 = i + 4 <= n;
      const float32x4_t w4 = step4 ? F::load(wr + i) : vdupq_n_f32(0.0f);
      for (int t = 0; t < nt; ++t) {
        if (step4) acc0[t] = vfmaq_f32(acc0[t], w4, F::load(at[t] + i));
        float sum = vaddvq_f32(vaddq_f32(acc0[t], acc1[t]));
        for (int64_t k = i + (step4 ? 4 : 0); k < n; ++k)
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

// f32 x f32 summed in double: products of two floats are exact in double, so the fused
// multiply-adds round only the additions, and only their order differs from the reference.
double exact_dot(const float* w, const float* x, int64_t n) {
  float64x2_t acc[4] = {vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 2; ++k) {
      const float32x4_t wv = vld1q_f32(w + i + 4 * k), xv = vld1q_f32(x + i + 4 * k);
      acc[2 * k] =
          vfmaq_f64(acc[2 * k], vcvt_f64_f32(vget_low_f32(wv)), vcvt_f64_f32(vget_low_f32(xv)));
      acc[2 * k + 1] = vfmaq_f64(acc[2 * k + 1], vcvt_high_f64_f32(wv), vcvt_high_f64_f32(xv));
    }
  }
  double sum = vaddvq_f64(vaddq_f64(vaddq_f64(acc[0], acc[1]), vaddq_f64(acc[2], acc[3])));
  for (; i < n; ++i) sum += static_cast<double>(w[i]) * x[i];
  return sum;
}

}  // namespace cmdai::cpu::neon
