// The AVX2 + FMA + F16C kernel table: assembles the kernels of the *_avx2.cc files.
#include "device/cpu/kernels_avx2.h"

#include "device/cpu/kernels.h"

namespace cmdai::cpu {
namespace {

using namespace avx2;

KernelSet make_avx2_kernels() {
  KernelSet ks = scalar_kernels();
  ks.name = "avx2";
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
  ks.gemv_q4_k = gemv_q4_k;
  ks.gemv_q5_k = gemv_q5_k;
  ks.gemv_q6_k = gemv_q6_k;
  ks.gemv_q8_0 = gemv_q8_0;
  ks.gemv_q4_0 = gemv_q4_0;
  ks.gemv_q5_0 = gemv_q5_0;
  ks.quantize_q8_0 = quantize_q8_0;
  ks.quantize_q8_k = quantize_q8_k;
  ks.quantize_f16 = quantize_f16;
  return ks;
}

}  // namespace

const KernelSet& avx2_kernels() {
  static const KernelSet ks = make_avx2_kernels();
  return ks;
}

}  // namespace cmdai::cpu
