// A weight matrix in the CUDA device's memory, in the layout its kernels read (see
// gpu_matrix.cuh for the layouts and the device code that reads them). Plain C++.
#pragma once

#include <cstddef>
#include <cstdint>

struct __half;

namespace cmdai::cuda {

enum class GpuType : int { kF32, kF16, kQ4K, kQ5K, kQ6K, kQ8_0 };

struct GpuMatrix {
  GpuType type = GpuType::kF32;
  int rows = 0;
  int cols = 0;
  const uint8_t* q = nullptr;      // blocks (q4_K, q5_K), quants (q6_K, q8_0) or values
  const int8_t* scales = nullptr;  // q6_K: 16 a block
  const __half* d = nullptr;       // q6_K, q8_0: one a block
  size_t row_bytes = 0;            // bytes of one row in q
  int blocks_per_row = 0;          // K-quants: cols / 256; q8_0: cols / 32
};

#if defined(__CUDACC__)
__host__ __device__
#endif
    inline bool
    is_chunked(GpuType t) {
  return t != GpuType::kF32 && t != GpuType::kF16;
}

}  // namespace cmdai::cuda
