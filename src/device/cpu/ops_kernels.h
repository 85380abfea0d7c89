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
};

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
