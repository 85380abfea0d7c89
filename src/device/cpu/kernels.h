// The per-instruction-set kernel tables behind cpu::matmul: dot products and activation
// quantizers, one table per instruction set, the best one picked at run time from cpu_features().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quant/types.h"

namespace cmdai::cpu {

// Dot product of n elements of a weight row with an activation row in the partner format
// (quant/vec_dot.h's activation_type_for).
using VecDotFn = float (*)(int64_t n, const void* weight_row, const void* activation_row);

// Encodes n f32 values into an activation format (quant/quantize.h's rounding rules).
using QuantizeFn = void (*)(const float* x, void* dst, int64_t n);

// Output tile: y[t * y_stride + r] for rows [r0, r1) and tokens [0, n_tokens), each the exact
// value the table's VecDotFn gives for that row and token (so any row/token split of the work
// yields the same bits). Weight row r starts at w + r * w_stride, token t's activations at
// a + t * a_stride.
using GemmFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
                        const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                        int64_t y_stride);

// sum_k w[k] * x[k] over f32 rows, accumulated in double (the kExact matmul's inner loop).
using ExactDotFn = double (*)(const float* w, const float* x, int64_t n);

struct KernelSet {
  const char* name = "scalar";
  VecDotFn dot_f32 = nullptr, dot_f16 = nullptr, dot_bf16 = nullptr;
  VecDotFn dot_q4_0 = nullptr, dot_q5_0 = nullptr, dot_q8_0 = nullptr;
  VecDotFn dot_q4_k = nullptr, dot_q5_k = nullptr, dot_q6_k = nullptr;
  QuantizeFn quantize_q8_0 = nullptr, quantize_q8_k = nullptr;
  QuantizeFn quantize_f16 = nullptr, quantize_bf16 = nullptr;
  // Optional multi-row x multi-token tiles; a null entry means "loop over the VecDotFn".
  GemmFn gemm_q4_k = nullptr, gemm_q5_k = nullptr, gemm_q6_k = nullptr, gemm_q8_0 = nullptr;
  GemmFn gemm_q4_0 = nullptr, gemm_q5_0 = nullptr, gemm_f16 = nullptr, gemm_bf16 = nullptr,
         gemm_f32 = nullptr;
  // Optional kernels for one token (decode), same contract and same bits as the GemmFn.
  GemmFn gemv_q4_k = nullptr, gemv_q5_k = nullptr, gemv_q6_k = nullptr;
  GemmFn gemv_q8_0 = nullptr, gemv_q4_0 = nullptr, gemv_q5_0 = nullptr;
  ExactDotFn exact_dot = nullptr;

  VecDotFn vec_dot(TensorType weight_type) const;         // nullptr when unsupported
  QuantizeFn quantize(TensorType activation_type) const;  // nullptr for F32 (used as is)
  GemmFn gemm(TensorType weight_type) const;              // nullptr: no tile kernel
  GemmFn gemv(TensorType weight_type) const;              // nullptr: use gemm (or vec_dot)
};

// The portable table (wraps the quant/ reference code); always available.
const KernelSet& scalar_kernels();

// Every table this build has and this CPU can run, scalar first, fastest last. Tests iterate it.
std::vector<const KernelSet*> available_kernel_sets();

// The fastest of available_kernel_sets(), chosen once (honours CMDAI_CPU_FEATURES).
const KernelSet& best_kernels();

// A table's place in the order the tables are built from one another: 0 scalar, 1 avx2 or neon,
// 2 avx512vnni or neon_dotprod, 3 amx (a copy of avx512vnni with AMX tiles).
int kernel_set_lineage(const KernelSet& ks);

// Names the kernel that multiplies `weight_type` for one token (one_token) or many, as matmul
// picks it from `ks`: the table it comes from (the first of available_kernel_sets() holding that
// very function, since a table reuses its predecessors' entries where it adds nothing) and its
// shape: "avx2 gemv", "avx512vnni tiles", "scalar dot". "" when `ks` has no kernel for the type.
std::string kernel_origin(const KernelSet& ks, TensorType weight_type, bool one_token);

// A VecDotFn made of a tile kernel: one row and one token through kGemm, so a table's vec_dot
// and its matmul give the same bits. The SIMD tables build their dot products from it.
template <GemmFn kGemm>
float dot_via_gemm(int64_t n, const void* w, const void* a) {
  float y = 0.0f;
  kGemm(n, static_cast<const uint8_t*>(w), 0, 0, 1, static_cast<const uint8_t*>(a), 0, 1, &y, 1);
  return y;
}

// Fills the tile by calling ks.vec_dot(type) per output: the fallback when there is no GemmFn.
void gemm_by_vec_dot(VecDotFn dot, int64_t n, const uint8_t* w, size_t w_stride, int64_t r0,
                     int64_t r1, const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                     int64_t y_stride);

#if defined(__x86_64__) || defined(_M_X64)
// Defined in kernels_avx2.cc; the table has every entry filled (scalar where AVX2 adds nothing).
const KernelSet& avx2_kernels();
// Defined in kernels_avx512.cc (AVX-512 F/BW/VL/DQ/VNNI); AVX2's entries where it adds nothing.
const KernelSet& avx512_kernels();
// The AVX-512 table with AMX-int8 K-quant prefill tiles; nullptr when the OS does not grant AMX.
const KernelSet* amx_kernels();
#endif

#if defined(__aarch64__)
// Defined in kernels_neon.cc: ARMv8.0 NEON, every arm64 CPU (scalar entries where NEON adds
// nothing).
const KernelSet& neon_kernels();
// The same with the dot-product extension (SDOT) for the integer formats; needs HWCAP_ASIMDDP.
const KernelSet& neon_dotprod_kernels();
#endif

}  // namespace cmdai::cpu
