// Batched products (prefill) of quantized weights with f32 activations on tensor cores (mma.sync,
// sm_80 and later). Plain C++: the host launchers only.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "device/cuda/gpu_matrix.h"

namespace cmdai::cuda {

// Tile shapes (W rows x tokens per thread block); kAuto picks one from the shape and the GPU.
enum class TcTile : int { kAuto, k128x128, k64x128, k64x64 };

// Bytes of scratch launch_matmul_tc needs: x as f16.
size_t matmul_tc_scratch_bytes(int n_tokens, int cols);

// y[t * y_stride + r] = sum_k W[r, k] * x[t * w.cols + k] for t < n_tokens, r < w.rows.
// x: f32 [n_tokens, w.cols] in device memory, 16-byte aligned; y_stride >= w.rows. Handles q4_K,
// q5_K and q6_K with cols % 256 == 0 and q8_0 with cols % 64 == 0; activations are rounded to f16
// (clamped to +-65504). Returns false, launching nothing, for anything else, so the caller falls
// back to its CUDA-core kernel. scratch: matmul_tc_scratch_bytes(n_tokens, w.cols) bytes of device
// memory, 16-byte aligned.
bool launch_matmul_tc(const GpuMatrix& w, const float* x, int n_tokens, float* y, int y_stride,
                      void* scratch, cudaStream_t stream, TcTile tile = TcTile::kAuto);

}  // namespace cmdai::cuda
