// Reference (portable, scalar) dot products of a weight row with an activation row already in the
// weight type's partner format: the oracle every SIMD kernel is tested against.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace cmdai {

// The format activations are quantized to before multiplying with weights of weight_type, as
// llama.cpp's CPU backend does: Q8_K for K-quants, Q8_0 for Q4_0/Q5_0/Q8_0, F16 for F16, BF16 for
// BF16, F32 for F32. Returns weight_type itself for types without kernels.
TensorType activation_type_for(TensorType weight_type);

// True for the weight types vec_dot handles: F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K.
bool has_vec_dot(TensorType weight_type);

// Dot product of n elements (a whole number of blocks). Quantized types form integer sums per
// block and scale them like ggml (d_w * d_a * sum, K-quant mins through the activation bsums), so
// results equal llama.cpp's up to float summation order. NaN for an unsupported type or bad n.
float vec_dot(TensorType weight_type, int64_t n, const void* weight_row,
              const void* activation_row);

}  // namespace cmdai
