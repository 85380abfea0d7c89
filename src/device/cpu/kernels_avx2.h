// Entry points of the AVX2 kernels (defined in the *_avx2.cc files), gathered into a KernelSet
// by kernels_avx2.cc. Plain declarations: safe to include from any file.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cmdai::cpu::avx2 {

// GemmFn contract (see kernels.h): tiles for any token count, gemv_* for one token.
void gemm_q4_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q5_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q6_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q4_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q5_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q6_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q8_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q4_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_q5_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q8_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q4_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemv_q5_0(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_f32(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
              const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_f16(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
              const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);
void gemm_bf16(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
               const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride);

double exact_dot(const float* w, const float* x, int64_t n);  // ExactDotFn

// QuantizeFn contract.
void quantize_q8_0(const float* x, void* dst, int64_t n);
void quantize_q8_k(const float* x, void* dst, int64_t n);
void quantize_f16(const float* x, void* dst, int64_t n);

}  // namespace cmdai::cpu::avx2
