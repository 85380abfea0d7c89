// Inner loops of attention over an f16 KV cache, one table per instruction set (picked at run
// time), so decode does not spend its time converting halves one by one.
#pragma once

#include <cstdint>
#include <vector>

#include "device/cpu/ops.h"

namespace cmdai::cpu {

struct AttentionKernels {
  const char* name = "scalar";
  // sum_i x[i] * y[i] with y in f16 bits, accumulated in float.
  float (*dot_f16)(const float* x, const uint16_t* y, int64_t n) = nullptr;
  // y[i] += a * x[i] with x in f16 bits.
  void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n) = nullptr;
  // out[i] = silu(gate[i]) * up[i] (the FFN activation; prefill runs it on tokens x 8960 values per
  // layer); within a few float ulps of the scalar loop. nullptr: the scalar loop.
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out) = nullptr;
  // The query heads that share one kv head, at once (g <= kMaxHeadGroup heads, n a multiple of
  // 16): each K and V row is converted from f16 once for all of them, and the V sums stay in
  // registers across keys. Bit for bit what dot_f16 and axpy_f16 give head by head:
  //   scores[h][j] = dot_f16(q[h], k + j * stride, n) * scale
  //   out[h][i] = w[h][0] * v[i] + w[h][1] * v[stride + i] + ..., summed from 0 in key order as
  //               repeated axpy_f16 calls do.
  // nullptr: dot_f16 and axpy_f16 head by head.
  void (*scores_f16)(const float* const* q, int g, const uint16_t* k, int64_t stride,
                     int64_t n_keys, int64_t n, float scale, float* const* scores) = nullptr;
  void (*weighted_sum_f16)(const float* const* w, int g, const uint16_t* v, int64_t stride,
                           int64_t n_keys, int64_t n, float* const* out) = nullptr;
  // out[i] = x[i] rounded to the nearest half (ties to even) and back, as fp16.h's conversions
  // do; in place is fine. nullptr: those conversions one value at a time.
  void (*round_to_f16)(const float* x, int64_t n, float* out) = nullptr;
};

// The most query heads one scores_f16 / weighted_sum_f16 call takes.
inline constexpr int kMaxHeadGroup = 6;

const AttentionKernels& scalar_attention_kernels();
// Every table this CPU can run, scalar first (tests compare them); the last is the fastest.
std::vector<const AttentionKernels*> available_attention_kernels();
const AttentionKernels& best_attention_kernels();

// causal_attention with a given table (ops_test runs every table).
void causal_attention_with(const AttentionKernels& kernels, const float* q, int64_t n_tokens,
                           const KvLayerView& kv, const AttentionParams& params, float* out,
                           ThreadPool& pool);

#if defined(__x86_64__)
const AttentionKernels& avx2_attention_kernels();  // ops_avx2.cc; needs AVX2, FMA and F16C
#endif
#if defined(__aarch64__)
const AttentionKernels& neon_attention_kernels();  // ops_neon.cc; any arm64 CPU
#endif

}  // namespace cmdai::cpu
