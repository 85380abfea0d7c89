// Encoding f32 rows into the block formats: weight quantizers (used to build synthetic models)
// and the activation quantizers that the fast matmul applies to its inputs.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace cmdai {

// Types it encodes: F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K.
bool can_quantize(TensorType type);

// Encodes n elements of src into dst (row_bytes(type, n) bytes). Writes nothing
// for an unsupported type or an n that is not a whole number of blocks.
//
// Q8_0 and Q8_K round exactly as llama.cpp's x86 CPU backend quantizes activations, so that
// integer dot products see the same int8 values:
//  * Q8_0: amax over 32 values, d = amax/127 stored as fp16, q = round-half-even(x * (127/amax)).
//  * Q8_K: m = the value of largest magnitude (with its sign), iscale = -127/m,
//    q = min(127, round-half-even(iscale * x)), d = 1/iscale, bsums = sums of 16 q's.
// The weight formats search scales (and mins) to minimise squared error.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

}  // namespace cmdai
