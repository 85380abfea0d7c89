// Entry points of the arm64 NEON kernels (defined in the *_neon.cc files), gathered into the
// "neon" and "neon_dotprod" KernelSets by kernels_neon.cc. Plain declarations: safe to include
// from any file.
//
// Both tables give the scalar reference's exact bits for the integer formats (q8_0, q4_0, q5_0,
// q4_K, q5_K, q6_K): every block's integer sum is exact, and the float steps that scale and add
// them are the reference's, one rounding each, lane by lane. "neon" needs only ARMv8.0 Advanced
// SIMD (vmull_s8 / vpadalq_s16); "neon_dotprod" replaces the int8 products with SDOT (ARMv8.2
// dot-product extension, picked at run time from HWCAP_ASIMDDP) and so gives the same bits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cmdai::cpu {

#define CMDAI_NEON_GEMM(name)                                                     \
  void name(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, \
            const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride)

// Integer-format kernels: one copy per int8 dot-product flavour.
#define CMDAI_NEON_INTEGER_KERNELS \
  CMDAI_NEON_GEMM(gemm_q8_0);      \
  CMDAI_NEON_GEMM(gemm_q4_0);      \
  CMDAI_NEON_GEMM(gemm_q5_0);      \
  CMDAI_NEON_GEMM(gemm_q4_k);      \
  CMDAI_NEON_GEMM(gemm_q5_k);      \
  CMDAI_NEON_GEMM(gemm_q6_k)

namespace neon {

CMDAI_NEON_INTEGER_KERNELS;  // q8_0_family_neon.cc, kquant_neon.cc

// Float weights (float_neon.cc): f32 / f16 / bf16 rows against activations in the same format.
CMDAI_NEON_GEMM(gemm_f32);
CMDAI_NEON_GEMM(gemm_f16);
CMDAI_NEON_GEMM(gemm_bf16);
double exact_dot(const float* w, const float* x, int64_t n);  // ExactDotFn

// QuantizeFn contract, bit-identical to quant/quantize.cc (quantize_neon.cc).
void quantize_q8_0(const float* x, void* dst, int64_t n);
void quantize_q8_k(const float* x, void* dst, int64_t n);
void quantize_f16(const float* x, void* dst, int64_t n);

}  // namespace neon

namespace neon_dotprod {

CMDAI_NEON_INTEGER_KERNELS;  // dotprod_neon.cc, built for armv8.2-a+dotprod

}  // namespace neon_dotprod

#undef CMDAI_NEON_INTEGER_KERNELS
#undef CMDAI_NEON_GEMM

}  // namespace cmdai::cpu
