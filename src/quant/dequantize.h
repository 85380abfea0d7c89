// Reference decoding of one row of any tensor type cmdai computes with into f32, bit-for-bit the
// values ggml's to_float produces (same float operation order).
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace cmdai {

// Types it decodes: F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K.
bool can_dequantize(TensorType type);

// Decodes n elements (a whole number of blocks) from src into dst. For an unsupported type or an n
// that is not a whole number of blocks, dst[0..n) is filled with NaN so misuse cannot go unnoticed.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

}  // namespace cmdai
