// Upload-time rearrangement of GGUF blocks whose sizes break 16-byte alignment (q6_K: 210 bytes,
// q8_0: 34) into the split layouts of gpu_matrix.cuh.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "device/cuda/kernels.cuh"

namespace cmdai::cuda {
namespace {

// Rearranges GGUF q6_K blocks (210 bytes) into quants, scales and d arrays.
__global__ void repack_q6k_kernel(const uint8_t* __restrict__ raw, size_t n_blocks,
                                  uint8_t* __restrict__ quants, int8_t* __restrict__ scales,
                                  __half* __restrict__ d) {
  for (size_t b = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; b < n_blocks;
       b += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const uint8_t* src = raw + b * 210;
    for (int i = 0; i < 192; ++i) quants[b * 192 + i] = src[i];
    for (int i = 0; i < 16; ++i) scales[b * 16 + i] = static_cast<int8_t>(src[192 + i]);
    d[b] = __ushort_as_half(static_cast<unsigned short>(src[208] | (src[209] << 8)));
  }
}

// Rearranges GGUF q8_0 blocks (34 bytes) into quants and d arrays.
__global__ void repack_q8_0_kernel(const uint8_t* __restrict__ raw, size_t n_blocks,
                                   uint8_t* __restrict__ quants, __half* __restrict__ d) {
  for (size_t b = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; b < n_blocks;
       b += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const uint8_t* src = raw + b * 34;
    d[b] = __ushort_as_half(static_cast<unsigned short>(src[0] | (src[1] << 8)));
    for (int i = 0; i < 32; ++i) quants[b * 32 + i] = src[2 + i];
  }
}

unsigned grid_for(size_t n_blocks) {
  return static_cast<unsigned>(std::min<size_t>((n_blocks + 255) / 256, 8192));
}

}  // namespace

void launch_repack_q6k(const uint8_t* raw, size_t n_blocks, uint8_t* quants, int8_t* scales,
                       __half* d, cudaStream_t stream) {
  repack_q6k_kernel<<<grid_for(n_blocks), 256, 0, stream>>>(raw, n_blocks, quants, scales, d);
}

void launch_repack_q8_0(const uint8_t* raw, size_t n_blocks, uint8_t* quants, __half* d,
                        cudaStream_t stream) {
  repack_q8_0_kernel<<<grid_for(n_blocks), 256, 0, stream>>>(raw, n_blocks, quants, d);
}

}  // namespace cmdai::cuda
