// The layouts of GpuMatrix (gpu_matrix.h) and the device function every matmul kernel shares: a
// lane's 8 weights of a 256-weight chunk of a row, dequantized, times their activations.
//
// Layouts (every block 16-byte aligned, rows contiguous):
//   q4_K, q5_K: GGUF's blocks as they are (144 and 176 bytes).
//   q6_K: split at upload into quants (ql[128] then qh[64]: 192 bytes a block), scales (16 int8
//         a block) and d (one half a block), since GGUF's 210-byte blocks break alignment.
//   q8_0: split into quants (32 int8 a block) and d (one half a block), likewise for 34 bytes.
//   f16, f32: as they are (plain kernels; any column count).
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "device/cuda/gpu_matrix.h"

namespace cmdai::cuda {

// Quantized types cover a row in chunks of 256 weights: lane l of a warp takes 8 of them, chosen
// so that its activations load as two float4 (q4_K, q5_K, q8_0) or pairs of floats (q6_K).
__device__ __forceinline__ void k_scale_min(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The lane's 8 weights of chunk c (= block c for K-quants) of `row`, and their dot product with
// x (the chunk's 256 activations, x[pos]), returned as one float.
template <GpuType T>
__device__ __forceinline__ float chunk_dot(const GpuMatrix& m, int row, int c, int lane,
                                           const float* x);

template <>
__device__ __forceinline__ float chunk_dot<GpuType::kQ4K>(const GpuMatrix& m, int row, int c,
                                                          int lane, const float* x) {
  const uint8_t* block =
      m.q + static_cast<size_t>(row) * m.row_bytes + static_cast<size_t>(c) * 144;
  const int j = lane >> 3, t = lane & 7;
  const uint32_t dd = *reinterpret_cast<const uint32_t*>(block);
  const float d = __half2float(__ushort_as_half(static_cast<unsigned short>(dd & 0xFFFF)));
  const float dmin = __half2float(__ushort_as_half(static_cast<unsigned short>(dd >> 16)));
  const uint8_t* scales = block + 4;
  int sc1, m1, sc2, m2;
  k_scale_min(2 * j, scales, &sc1, &m1);
  k_scale_min(2 * j + 1, scales, &sc2, &m2);
  const uint32_t qs = *reinterpret_cast<const uint32_t*>(block + 16 + 32 * j + 4 * t);
  const float4 xa = *reinterpret_cast<const float4*>(x + 64 * j + 4 * t);
  const float4 xb = *reinterpret_cast<const float4*>(x + 64 * j + 32 + 4 * t);
  const float lo =
      static_cast<float>(qs & 0xF) * xa.x + static_cast<float>((qs >> 8) & 0xF) * xa.y +
      static_cast<float>((qs >> 16) & 0xF) * xa.z + static_cast<float>((qs >> 24) & 0xF) * xa.w;
  const float hi =
      static_cast<float>((qs >> 4) & 0xF) * xb.x + static_cast<float>((qs >> 12) & 0xF) * xb.y +
      static_cast<float>((qs >> 20) & 0xF) * xb.z + static_cast<float>(qs >> 28) * xb.w;
  const float sum_a = xa.x + xa.y + xa.z + xa.w, sum_b = xb.x + xb.y + xb.z + xb.w;
  return d * (sc1 * lo + sc2 * hi) - dmin * (m1 * sum_a + m2 * sum_b);
}

template <>
__device__ __forceinline__ float chunk_dot<GpuType::kQ5K>(const GpuMatrix& m, int row, int c,
                                                          int lane, const float* x) {
  const uint8_t* block =
      m.q + static_cast<size_t>(row) * m.row_bytes + static_cast<size_t>(c) * 176;
  const int j = lane >> 3, t = lane & 7;
  const uint32_t dd = *reinterpret_cast<const uint32_t*>(block);
  const float d = __half2float(__ushort_as_half(static_cast<unsigned short>(dd & 0xFFFF)));
  const float dmin = __half2float(__ushort_as_half(static_cast<unsigned short>(dd >> 16)));
  const uint8_t* scales = block + 4;
  int sc1, m1, sc2, m2;
  k_scale_min(2 * j, scales, &sc1, &m1);
  k_scale_min(2 * j + 1, scales, &sc2, &m2);
  const uint32_t qh = *reinterpret_cast<const uint32_t*>(block + 16 + 4 * t);
  const uint32_t qs = *reinterpret_cast<const uint32_t*>(block + 48 + 32 * j + 4 * t);
  const float4 xa = *reinterpret_cast<const float4*>(x + 64 * j + 4 * t);
  const float4 xb = *reinterpret_cast<const float4*>(x + 64 * j + 32 + 4 * t);
  float lo = 0, hi = 0;
  const float xav[4] = {xa.x, xa.y, xa.z, xa.w}, xbv[4] = {xb.x, xb.y, xb.z, xb.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t byte = (qs >> (8 * i)) & 0xFF, hbits = (qh >> (8 * i)) & 0xFF;
    const int ql = static_cast<int>(byte & 0xF) + (((hbits >> (2 * j)) & 1) << 4);
    const int qhv = static_cast<int>(byte >> 4) + (((hbits >> (2 * j + 1)) & 1) << 4);
    lo += static_cast<float>(ql) * xav[i];
    hi += static_cast<float>(qhv) * xbv[i];
  }
  const float sum_a = xa.x + xa.y + xa.z + xa.w, sum_b = xb.x + xb.y + xb.z + xb.w;
  return d * (sc1 * lo + sc2 * hi) - dmin * (m1 * sum_a + m2 * sum_b);
}

// q6_K: lane l takes half h = l / 16 and r = l % 16: bytes 2r, 2r+1 of each of the half's runs,
// so weights 128h + 32k + 2r + {0, 1} for k = 0..3.
template <>
__device__ __forceinline__ float chunk_dot<GpuType::kQ6K>(const GpuMatrix& m, int row, int c,
                                                          int lane, const float* x) {
  const size_t b = static_cast<size_t>(row) * m.blocks_per_row + static_cast<size_t>(c);
  const uint8_t* quants = m.q + b * 192;
  const int h = lane >> 4, r = lane & 15;
  const float d = __half2float(m.d[b]);
  const int8_t* sc = m.scales + b * 16 + 8 * h + (r >> 3);
  const uint16_t ql0 = *reinterpret_cast<const uint16_t*>(quants + 64 * h + 2 * r);
  const uint16_t ql1 = *reinterpret_cast<const uint16_t*>(quants + 64 * h + 32 + 2 * r);
  const uint16_t qh = *reinterpret_cast<const uint16_t*>(quants + 128 + 32 * h + 2 * r);
  const float* xb = x + 128 * h + 2 * r;
  float sum = 0;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int l0 = (ql0 >> (8 * i)) & 0xFF, l1 = (ql1 >> (8 * i)) & 0xFF;
    const int hb = (qh >> (8 * i)) & 0xFF;
    const int q1 = ((l0 & 0xF) | (((hb >> 0) & 3) << 4)) - 32;
    const int q2 = ((l1 & 0xF) | (((hb >> 2) & 3) << 4)) - 32;
    const int q3 = ((l0 >> 4) | (((hb >> 4) & 3) << 4)) - 32;
    const int q4 = ((l1 >> 4) | (((hb >> 6) & 3) << 4)) - 32;
    sum += sc[0] * (q1 * xb[i]) + sc[2] * (q2 * xb[32 + i]) + sc[4] * (q3 * xb[64 + i]) +
           sc[6] * (q4 * xb[96 + i]);
  }
  return d * sum;
}

// q8_0: lane l takes block 8c + l / 4, weights 8 (l % 4) .. +7 of it.
template <>
__device__ __forceinline__ float chunk_dot<GpuType::kQ8_0>(const GpuMatrix& m, int row, int c,
                                                           int lane, const float* x) {
  const int blk = 8 * c + (lane >> 2);
  if (blk >= m.blocks_per_row) return 0.0f;
  const size_t b = static_cast<size_t>(row) * m.blocks_per_row + static_cast<size_t>(blk);
  const uint2 qs = *reinterpret_cast<const uint2*>(m.q + b * 32 + 8 * (lane & 3));
  const float d = __half2float(m.d[b]);
  const float4 xa = *reinterpret_cast<const float4*>(x + 8 * lane);
  const float4 xb = *reinterpret_cast<const float4*>(x + 8 * lane + 4);
  const float s = static_cast<float>(static_cast<int8_t>(qs.x)) * xa.x +
                  static_cast<float>(static_cast<int8_t>(qs.x >> 8)) * xa.y +
                  static_cast<float>(static_cast<int8_t>(qs.x >> 16)) * xa.z +
                  static_cast<float>(static_cast<int8_t>(qs.x >> 24)) * xa.w +
                  static_cast<float>(static_cast<int8_t>(qs.y)) * xb.x +
                  static_cast<float>(static_cast<int8_t>(qs.y >> 8)) * xb.y +
                  static_cast<float>(static_cast<int8_t>(qs.y >> 16)) * xb.z +
                  static_cast<float>(static_cast<int8_t>(qs.y >> 24)) * xb.w;
  return d * s;
}

// Chunks of 256 weights in a row (q8_0 rows may end mid-chunk: chunk_dot skips missing blocks).
__host__ __device__ inline int chunks_per_row(const GpuMatrix& m) {
  return m.type == GpuType::kQ8_0 ? (m.blocks_per_row + 7) / 8 : m.blocks_per_row;
}

}  // namespace cmdai::cuda
