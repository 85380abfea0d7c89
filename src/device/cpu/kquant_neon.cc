// ARMv8.0 NEON K-quant (q4_K, q5_K, q6_K) x Q8_K kernels: the shared bodies of simd_neon.h with
// vmull_s8 / vpadalq_s16 int8 dot products. Exact integer block sums, reference float steps.
#include "device/cpu/kernels_neon.h"

// Scalar multiply-adds must round like the reference: no fused multiply-add contraction.
#pragma GCC optimize("fp-contract=off")

#include "device/cpu/simd_neon.h"

CMDAI_DEFINE_NEON_K_QUANTS(neon, BaselineDot)
