// The AVX-512 (F+BW+VL+DQ+VNNI) kernel table: the AVX2 table with the entries the *_avx512.cc
// files improve replaced. Every replaced entry gives the scalar reference's bits, so the mix of
// AVX2 and AVX-512 kernels inside this table still agrees bit for bit between gemm, gemv and dot.
#include "device/cpu/kernels_avx512.h"

#include "device/cpu/kernels.h"

namespace cmdai::cpu {
namespace {

KernelSet make_avx512_kernels() {
  KernelSet ks = avx2_kernels();
  ks.name = "avx512vnni";
  // Prefill tiles (16 rows per register, vpdpbusd); one token inside them takes the GEMV path.
  ks.gemm_q4_k = avx512::gemm_q4_k;
  ks.gemm_q5_k = avx512::gemm_q5_k;
  ks.gemm_q6_k = avx512::gemm_q6_k;
  ks.gemm_q8_0 = avx512::gemm_q8_0;
  ks.gemm_q4_0 = avx512::gemm_q4_0;
  ks.gemm_q5_0 = avx512::gemm_q5_0;
  // One-token kernels (decode). The K-quant dot products stay AVX2's (same bits).
  ks.gemv_q4_k = avx512::gemv_q4_k;
  ks.gemv_q5_k = avx512::gemv_q5_k;
  ks.gemv_q6_k = avx512::gemv_q6_k;
  // The 32-element formats sum in a different order from AVX2's (exact block sums here), so their
  // dot products come from this file too.
  ks.gemv_q8_0 = avx512::gemv_q8_0;
  ks.gemv_q4_0 = avx512::gemv_q4_0;
  ks.gemv_q5_0 = avx512::gemv_q5_0;
  ks.dot_q8_0 = dot_via_gemm<avx512::gemv_q8_0>;
  ks.dot_q4_0 = dot_via_gemm<avx512::gemv_q4_0>;
  ks.dot_q5_0 = dot_via_gemm<avx512::gemv_q5_0>;
  return ks;
}

// The AVX-512 table with AMX-int8 prefill tiles for the K-quants.
KernelSet make_amx_kernels() {
  KernelSet ks = avx512_kernels();
  ks.name = "amx";
  ks.gemm_q4_k = avx512::amx_gemm_q4_k;
  ks.gemm_q5_k = avx512::amx_gemm_q5_k;
  ks.gemm_q6_k = avx512::amx_gemm_q6_k;
  return ks;
}

}  // namespace

const KernelSet& avx512_kernels() {
  static const KernelSet ks = make_avx512_kernels();
  return ks;
}

const KernelSet* amx_kernels() {
  if (!avx512::amx_available()) return nullptr;
  static const KernelSet ks = make_amx_kernels();
  return &ks;
}

}  // namespace cmdai::cpu
