// The CUDA device's kernels, as host launchers the forward pass calls on one stream (no device
// code here, so plain C++ can include it): matrix-vector and
// batched products over the GPU weight layouts with fused epilogues, RMSNorm, bias + RoPE + the KV
// write, causal attention over the f16 cache, and SwiGLU.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "device/cuda/gpu_matrix.h"

namespace cmdai::cuda {

// What a matmul does with its result y[t, r] = W[r] . x[t].
struct Epilogue {
  const float* bias = nullptr;  // y += bias[r]
  bool accumulate = false;      // y_out += y (a residual add into the output)
};

// y[t * rows + r] for t < n_tokens: W[r] . x[t] (x is [n_tokens, cols] f32), then the epilogue.
void launch_matmul(const GpuMatrix& w, const float* x, int n_tokens, float* y, Epilogue epilogue,
                   cudaStream_t stream);

// The same for several tokens: on tensor cores where the type allows (scratch: n_tokens * rows
// floats for the epilogue; tc_scratch: matmul_tc_scratch_bytes(n_tokens, cols)), else as above.
void launch_batched_matmul(const GpuMatrix& w, const float* x, int n_tokens, float* y,
                           Epilogue epilogue, float* scratch, void* tc_scratch,
                           cudaStream_t stream);
// Bytes of launch_batched_matmul's tc_scratch for up to n_tokens tokens of up to cols columns.
size_t batched_matmul_scratch_bytes(int n_tokens, int cols);

// One token: n = rms_norm(x) * norm, then y[m][r] = w[m][r] . n + bias[m][r] for m < count, all
// in one launch (decode's q, k and v). Every matrix has the same cols.
struct NormMatvec3 {
  int count = 0;
  GpuMatrix w[3];
  float* y[3] = {};
  const float* bias[3] = {};
  const float* norm = nullptr;
  float eps = 1e-6f;
};
void launch_norm_matvec3(const NormMatvec3& job, const float* x, cudaStream_t stream);

// One token: out[r] = silu(gate[r] . n) * (up[r] . n), n = rms_norm(x) * norm, in one launch.
void launch_norm_gate_up(const GpuMatrix& gate, const GpuMatrix& up, const float* norm, float eps,
                         const float* x, float* out, cudaStream_t stream);

// out[i] = silu(gate[i]) * up[i] over n values.
void launch_swiglu(const float* gate, const float* up, size_t n, float* out, cudaStream_t stream);

// y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight.
void launch_rms_norm(const float* x, const float* weight, int n_tokens, int dim, float eps,
                     float* y, cudaStream_t stream);

struct RopeKvParams {
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int n_rot = 0;
  float freq_base = 10000.0f;
  bool halves = false;  // NEOX style (qwen2); false: adjacent pairs (llama)
};

// Rotates q [n, n_heads * head_dim] and k [n, n_kv_heads * head_dim] in place (row t at
// position *pos0 + t) and writes k and v as f16 into the layer's cache rows *pos0 .. .
void launch_rope_kv(float* q, float* k, const float* v, int n_tokens, const int* pos0,
                    const RopeKvParams& p, __half* k_cache, __half* v_cache, cudaStream_t stream);

// out[t, h, :] = softmax_j(scale * q[t, h] . K[j, h / group]) . V[j, h / group] over keys
// j <= *pos0 + t.
void launch_attention(const float* q, int n_tokens, const int* pos0, const __half* k_cache,
                      const __half* v_cache, int n_heads, int n_kv_heads, int head_dim, float scale,
                      float* out, cudaStream_t stream);

// GGUF q6_K blocks (210 bytes) into GpuMatrix's quants, scales and d arrays.
void launch_repack_q6k(const uint8_t* raw, size_t n_blocks, uint8_t* quants, int8_t* scales,
                       __half* d, cudaStream_t stream);
// GGUF q8_0 blocks (34 bytes) into GpuMatrix's quants and d arrays.
void launch_repack_q8_0(const uint8_t* raw, size_t n_blocks, uint8_t* quants, __half* d,
                        cudaStream_t stream);

// Whether kernels may overlap their predecessor (programmatic dependent launch: sm_90 and later).
void set_programmatic_launch(bool enabled);

// A kernel launch that the runtime refuses (cudaErrorInvalidConfiguration): the fault-injection
// hook's real CUDA error. It is not sticky, so the context survives it, as a request that failed
// for a recoverable reason would. (A trap would be sticky: after one, CUDA cannot be used again in
// the process at all, which the hook could then never undo.)
cudaError_t launch_invalid_kernel(cudaStream_t stream);

}  // namespace cmdai::cuda
