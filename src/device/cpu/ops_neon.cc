// NEON attention inner loops over the f16 KV cache: four halves converted (FCVTL) and
// multiply-added per instruction.
#include <arm_neon.h>

#include "base/fp16.h"
#include "device/cpu/ops_kernels.h"

namespace cmdai::cpu {
namespace {

inline float32x4_t load_f16x4(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

float dot_f16(const float* x, const uint16_t* y, int64_t n) {
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), load_f16x4(y + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(x + i + 4), load_f16x4(y + i + 4));
    acc2 = vfmaq_f32(acc2, vld1q_f32(x + i + 8), load_f16x4(y + i + 8));
    acc3 = vfmaq_f32(acc3, vld1q_f32(x + i + 12), load_f16x4(y + i + 12));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), load_f16x4(y + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < n; ++i) sum += x[i] * fp16_to_f32(y[i]);
  return sum;
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const float32x4_t va = vdupq_n_f32(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, load_f16x4(x + i)));
    vst1q_f32(y + i + 4, vfmaq_f32(vld1q_f32(y + i + 4), va, load_f16x4(x + i + 4)));
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, load_f16x4(x + i)));
  for (; i < n; ++i) y[i] += a * fp16_to_f32(x[i]);
}

}  // namespace

const AttentionKernels& neon_attention_kernels() {
  static const AttentionKernels kernels{"neon", dot_f16, axpy_f16};
  return kernels;
}

}  // namespace cmdai::cpu
