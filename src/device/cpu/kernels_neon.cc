// The arm64 kernel tables: "neon" (ARMv8.0 Advanced SIMD, every arm64 CPU) and "neon_dotprod"
// (the same with SDOT for the integer formats). Entries without a NEON kernel (bf16 activation
// quantization) stay the scalar reference's.
#include "device/cpu/kernels_neon.h"

#include "device/cpu/kernels.h"

namespace cmdai::cpu {
namespace {

KernelSet make_neon_kernels() {
  using namespace neon;
  KernelSet ks = scalar_kernels();
  ks.name = "neon";
  ks.dot_f32 = dot_via_gemm<gemm_f32>;
  ks.dot_f16 = dot_via_gemm<gemm_f16>;
  ks.dot_bf16 = dot_via_gemm<gemm_bf16>;
  ks.gemm_f32 = gemm_f32;
  ks.gemm_f16 = gemm_f16;
  ks.gemm_bf16 = gemm_bf16;
  ks.exact_dot = exact_dot;
  ks.dot_q4_0 = dot_via_gemm<gemm_q4_0>;
  ks.dot_q5_0 = dot_via_gemm<gemm_q5_0>;
  ks.dot_q8_0 = dot_via_gemm<gemm_q8_0>;
  ks.dot_q4_k = dot_via_gemm<gemm_q4_k>;
  ks.dot_q5_k = dot_via_gemm<gemm_q5_k>;
  ks.dot_q6_k = dot_via_gemm<gemm_q6_k>;
  ks.gemm_q4_0 = gemm_q4_0;
  ks.gemm_q5_0 = gemm_q5_0;
  ks.gemm_q8_0 = gemm_q8_0;
  ks.gemm_q4_k = gemm_q4_k;
  ks.gemm_q5_k = gemm_q5_k;
  ks.gemm_q6_k = gemm_q6_k;
  ks.quantize_q8_0 = quantize_q8_0;
  ks.quantize_q8_k = quantize_q8_k;
  ks.quantize_f16 = quantize_f16;
  return ks;
}

KernelSet make_neon_dotprod_kernels() {
  using namespace neon_dotprod;
  KernelSet ks = neon_kernels();
  ks.name = "neon_dotprod";
  ks.dot_q4_0 = dot_via_gemm<gemm_q4_0>;
  ks.dot_q5_0 = dot_via_gemm<gemm_q5_0>;
  ks.dot_q8_0 = dot_via_gemm<gemm_q8_0>;
  ks.dot_q4_k = dot_via_gemm<gemm_q4_k>;
  ks.dot_q5_k = dot_via_gemm<gemm_q5_k>;
  ks.dot_q6_k = dot_via_gemm<gemm_q6_k>;
  ks.gemm_q4_0 = gemm_q4_0;
  ks.gemm_q5_0 = gemm_q5_0;
  ks.gemm_q8_0 = gemm_q8_0;
  ks.gemm_q4_k = gemm_q4_k;
  ks.gemm_q5_k = gemm_q5_k;
  ks.gemm_q6_k = gemm_q6_k;
  return ks;
}

}  // namespace

const KernelSet& neon_kernels() {
  static const KernelSet ks = make_neon_kernels();
  return ks;
}

const KernelSet& neon_dotprod_kernels() {
  static const KernelSet ks = make_neon_dotprod_kernels();
  return ks;
}

}  // namespace cmdai::cpu
