// Matrix multiplication of a (possibly quantized) weight matrix by float activations: the one op
// that dominates both prefill (matrix-matrix) and decode (matrix-vector).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/thread_pool.h"
#include "device/weight_matrix.h"
#include "quant/types.h"

namespace cmdai::cpu {

using device::WeightMatrix;

enum class MatmulPrecision {
  // Like llama.cpp's CPU backend, and the fast path: activations are quantized to the weight
  // type's partner format (Q8_K for k-quants, Q8_0 for q8_0/q4_0/q5_0, f16 for f16, bf16 for bf16)
  // and multiplied with integer dot products.
  kFast,
  // The float reference: weights dequantized to f32, activations f32, double accumulation.
  kExact,
};

// y[t * rows + r] = sum_k W[r, k] * x[t * cols + k] for every token t < n_tokens.
// Work is split across the pool's threads. x and y must not alias.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulPrecision precision = MatmulPrecision::kFast);

// One product of a matmul_shared_input batch: y = W x.
struct MatmulOutput {
  const WeightMatrix* w = nullptr;
  float* y = nullptr;
};

// Several matmuls of the same input x (q/k/v, or gate/up): each outputs[i].y gets exactly the bits
// matmul(*outputs[i].w, x, n_tokens, outputs[i].y, ...) would give, but x is quantized once and all
// products share one pool run, so decode pays one fork/join instead of one per matrix.
void matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulPrecision precision = MatmulPrecision::kFast);

}  // namespace cmdai::cpu
