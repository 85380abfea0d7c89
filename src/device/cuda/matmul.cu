// Products of the GPU weight layouts with f32 activations on CUDA cores: one warp per weight row,
// the row's chunks of 256 weights spread over the lanes, activations staged in shared memory.
// Decode (one token) runs here; batches of tokens go to the tensor-core kernel where it applies.
#include <cuda_runtime.h>

#include <algorithm>

#include "device/cuda/gpu_matrix.cuh"
#include "device/cuda/kernels.cuh"
#include "device/cuda/launch.cuh"
#include "device/cuda/matmul_tc.cuh"

namespace cmdai::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <GpuType T>
__device__ __forceinline__ float row_dot(const GpuMatrix& w, int row, int lane, const float* xs) {
  float sum = 0.0f;
  if constexpr (T == GpuType::kF32 || T == GpuType::kF16) {
    const size_t base = static_cast<size_t>(row) * w.cols;
    for (int k = lane; k < w.cols; k += 32) {
      float wk;
      if constexpr (T == GpuType::kF32) {
        wk = reinterpret_cast<const float*>(w.q)[base + k];
      } else {
        wk = __half2float(reinterpret_cast<const __half*>(w.q)[base + k]);
      }
      sum += wk * xs[k];
    }
  } else {
    const int n_chunks = chunks_per_row(w);
#pragma unroll 4
    for (int c = 0; c < n_chunks; ++c) sum += chunk_dot<T>(w, row, c, lane, xs + 256 * c);
  }
  return warp_sum(sum);
}

// row_dot for a type known only at run time (uniform within a warp).
__device__ __forceinline__ float any_row_dot(const GpuMatrix& w, int row, int lane,
                                             const float* xs) {
  switch (w.type) {
    case GpuType::kF32:
      return row_dot<GpuType::kF32>(w, row, lane, xs);
    case GpuType::kF16:
      return row_dot<GpuType::kF16>(w, row, lane, xs);
    case GpuType::kQ4K:
      return row_dot<GpuType::kQ4K>(w, row, lane, xs);
    case GpuType::kQ5K:
      return row_dot<GpuType::kQ5K>(w, row, lane, xs);
    case GpuType::kQ6K:
      return row_dot<GpuType::kQ6K>(w, row, lane, xs);
    case GpuType::kQ8_0:
      return row_dot<GpuType::kQ8_0>(w, row, lane, xs);
  }
  return 0.0f;
}

// Starts pulling a warp's weight row towards L2 before the kernel waits for its input.
__device__ __forceinline__ void prefetch_row(const GpuMatrix& w, int row, int lane) {
  if (row >= w.rows) return;
  const size_t bytes = is_chunked(w.type)
                           ? w.row_bytes
                           : static_cast<size_t>(w.cols) * (w.type == GpuType::kF32 ? 4 : 2);
  prefetch_l2(w.q + static_cast<size_t>(row) * bytes, bytes, lane);
}

// Stages x[token] (cols floats) into shared memory, 16 bytes at a time where aligned.
__device__ __forceinline__ void stage(const float* x, int cols, float* xs) {
  if ((cols & 3) == 0) {
    const float4* src = reinterpret_cast<const float4*>(x);
    float4* dst = reinterpret_cast<float4*>(xs);
    for (int i = threadIdx.x; i < cols / 4; i += blockDim.x) dst[i] = src[i];
  } else {
    for (int i = threadIdx.x; i < cols; i += blockDim.x) xs[i] = x[i];
  }
}

// grid: (row blocks, tokens). Each block stages one token's activations and computes
// kWarpsPerBlock rows of it.
template <GpuType T>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    matvec_kernel(GpuMatrix w, const float* __restrict__ x, float* __restrict__ y,
                  Epilogue epilogue) {
  extern __shared__ float xs[];
  const int token = blockIdx.y;
  const int lane = threadIdx.x & 31;
  const int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  if (token == 0) prefetch_row(w, row, lane);
  wait_for_inputs();
  let_next_kernel_launch();
  stage(x + static_cast<size_t>(token) * w.cols, w.cols, xs);
  __syncthreads();
  if (row >= w.rows) return;
  float v = row_dot<T>(w, row, lane, xs);
  if (lane == 0) {
    if (epilogue.bias) v += epilogue.bias[row];
    float* out = y + static_cast<size_t>(token) * w.rows + row;
    *out = epilogue.accumulate ? *out + v : v;
  }
}

// xs = rms_norm(x) * weight in place over shared memory (the sum of squares in double, as the
// CPU reference); every block of a fused kernel computes it for itself.
__device__ void normalize_staged(float* xs, int dim, const float* __restrict__ weight, float eps) {
  __shared__ double partial[kWarpsPerBlock];
  double sum = 0.0;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += static_cast<double>(xs[i]) * xs[i];
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = sum;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < kWarpsPerBlock; ++w) total += partial[w];
  const float scale = static_cast<float>(1.0 / sqrt(total / dim + static_cast<double>(eps)));
  __syncthreads();
  for (int i = threadIdx.x; i < dim; i += blockDim.x) xs[i] = xs[i] * scale * weight[i];
  __syncthreads();
}

// Up to three matrices of one input, normalized first: rows of all of them laid end to end over
// the grid, each warp one row of one matrix (q, k and v with their biases).
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    norm_matvec3_kernel(NormMatvec3 job, const float* __restrict__ x) {
  extern __shared__ float xs[];
  const int cols = job.w[0].cols;
  const int lane = threadIdx.x & 31;
  int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  int m = 0;
  while (m < job.count && row >= job.w[m].rows) row -= job.w[m++].rows;
  if (m < job.count) prefetch_row(job.w[m], row, lane);
  wait_for_inputs();
  let_next_kernel_launch();
  stage(x, cols, xs);
  __syncthreads();
  normalize_staged(xs, cols, job.norm, job.eps);
  if (m >= job.count) return;
  float v = any_row_dot(job.w[m], row, lane, xs);
  if (lane == 0) {
    if (job.bias[m]) v += job.bias[m][row];
    job.y[m][row] = v;
  }
}

// silu(gate . n) * (up . n) with n = rms_norm(x) * weight, one warp per row of both.
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    norm_gate_up_kernel(GpuMatrix gate, GpuMatrix up, const float* __restrict__ norm, float eps,
                        const float* __restrict__ x, float* __restrict__ out) {
  extern __shared__ float xs[];
  const int lane = threadIdx.x & 31;
  const int row = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  prefetch_row(gate, row, lane);
  prefetch_row(up, row, lane);
  wait_for_inputs();
  let_next_kernel_launch();
  stage(x, gate.cols, xs);
  __syncthreads();
  normalize_staged(xs, gate.cols, norm, eps);
  if (row >= gate.rows) return;
  const float g = any_row_dot(gate, row, lane, xs);
  const float u = any_row_dot(up, row, lane, xs);
  if (lane == 0) out[row] = g / (1.0f + __expf(-g)) * u;
}

__global__ void swiglu_kernel(const float* __restrict__ gate, const float* __restrict__ up,
                              size_t n, float* __restrict__ out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + __expf(-g)) * up[i];
  }
}

__global__ void bias_kernel(float* __restrict__ y, const float* __restrict__ bias, int rows,
                            size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    y[i] += bias[i % rows];
  }
}

__global__ void add_kernel(float* __restrict__ y, const float* __restrict__ add, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    y[i] += add[i];
  }
}

size_t staged_bytes(int cols) { return static_cast<size_t>(cols) * sizeof(float); }

template <typename Kernel>
void allow_shared(Kernel kernel, size_t bytes) {
  if (bytes > 48 * 1024) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         static_cast<int>(bytes));
  }
}

template <GpuType T>
void matvec(const GpuMatrix& w, const float* x, int n_tokens, float* y, Epilogue e,
            cudaStream_t stream) {
  const dim3 grid((w.rows + kWarpsPerBlock - 1) / kWarpsPerBlock, n_tokens);
  const size_t shared = staged_bytes(w.cols);
  allow_shared(matvec_kernel<T>, shared);
  launch_overlapped(matvec_kernel<T>, grid, dim3(kWarpsPerBlock * 32), shared, stream, w, x, y, e);
}

unsigned elementwise_blocks(size_t n) {
  return static_cast<unsigned>(std::min<size_t>((n + 255) / 256, 4096));
}

}  // namespace

void launch_matmul(const GpuMatrix& w, const float* x, int n_tokens, float* y, Epilogue epilogue,
                   cudaStream_t stream) {
  switch (w.type) {
    case GpuType::kF32:
      return matvec<GpuType::kF32>(w, x, n_tokens, y, epilogue, stream);
    case GpuType::kF16:
      return matvec<GpuType::kF16>(w, x, n_tokens, y, epilogue, stream);
    case GpuType::kQ4K:
      return matvec<GpuType::kQ4K>(w, x, n_tokens, y, epilogue, stream);
    case GpuType::kQ5K:
      return matvec<GpuType::kQ5K>(w, x, n_tokens, y, epilogue, stream);
    case GpuType::kQ6K:
      return matvec<GpuType::kQ6K>(w, x, n_tokens, y, epilogue, stream);
    case GpuType::kQ8_0:
      return matvec<GpuType::kQ8_0>(w, x, n_tokens, y, epilogue, stream);
  }
}

void launch_norm_matvec3(const NormMatvec3& job, const float* x, cudaStream_t stream) {
  int rows = 0;
  for (int m = 0; m < job.count; ++m) rows += job.w[m].rows;
  const size_t shared = staged_bytes(job.w[0].cols);
  allow_shared(norm_matvec3_kernel, shared);
  launch_overlapped(norm_matvec3_kernel, dim3((rows + kWarpsPerBlock - 1) / kWarpsPerBlock),
                    dim3(kWarpsPerBlock * 32), shared, stream, job, x);
}

void launch_norm_gate_up(const GpuMatrix& gate, const GpuMatrix& up, const float* norm, float eps,
                         const float* x, float* out, cudaStream_t stream) {
  const size_t shared = staged_bytes(gate.cols);
  allow_shared(norm_gate_up_kernel, shared);
  launch_overlapped(norm_gate_up_kernel, dim3((gate.rows + kWarpsPerBlock - 1) / kWarpsPerBlock),
                    dim3(kWarpsPerBlock * 32), shared, stream, gate, up, norm, eps, x, out);
}

void launch_swiglu(const float* gate, const float* up, size_t n, float* out, cudaStream_t stream) {
  swiglu_kernel<<<elementwise_blocks(n), 256, 0, stream>>>(gate, up, n, out);
}

size_t batched_matmul_scratch_bytes(int n_tokens, int cols) {
  return matmul_tc_scratch_bytes(n_tokens, cols);
}

void launch_batched_matmul(const GpuMatrix& w, const float* x, int n_tokens, float* y,
                           Epilogue epilogue, float* scratch, void* tc_scratch,
                           cudaStream_t stream) {
  // Tensor cores write a plain product; the epilogue follows as elementwise passes.
  float* product = epilogue.accumulate ? scratch : y;
  if (n_tokens > 1 && launch_matmul_tc(w, x, n_tokens, product, w.rows, tc_scratch, stream)) {
    const size_t n = static_cast<size_t>(n_tokens) * w.rows;
    if (epilogue.bias) {
      bias_kernel<<<elementwise_blocks(n), 256, 0, stream>>>(product, epilogue.bias, w.rows, n);
    }
    if (epilogue.accumulate) add_kernel<<<elementwise_blocks(n), 256, 0, stream>>>(y, product, n);
    return;
  }
  launch_matmul(w, x, n_tokens, y, epilogue, stream);
}

}  // namespace cmdai::cuda
