// ARMv8.0 NEON kernels for the 32-element block formats (q8_0, q4_0, q5_0) x Q8_0 activations:
// the shared bodies of simd_neon.h with vmull_s8 / vpadalq_s16 int8 dot products.
#include "device/cpu/kernels_neon.h"

// Scalar multiply-adds must round like the reference: no fused multiply-add contraction.
#pragma GCC optimize("fp-contract=off")

#include "device/cpu/simd_neon.h"

CMDAI_DEFINE_NEON_Q8_0_FAMILY(neon, BaselineDot)
