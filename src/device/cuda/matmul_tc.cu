// Prefill products on tensor cores: each block dequantizes a tile of W to f16 in shared memory and
// multiplies it with f16 activations by mma.sync m16n8k16, accumulating in f32 registers.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "device/cuda/matmul_tc.cuh"

namespace cmdai::cuda {
namespace {

__host__ __device__ inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// The K loop advances 64 columns a step; a tile row of a step is 8 segments of 8 halves (16 bytes).
// Segment s of tile row r sits at position s ^ (r & 7), so that ldmatrix's 8 rows of one segment
// and the dequantizing threads' stores hit distinct banks.
constexpr int kStepCols = 64;
constexpr int kSegments = kStepCols / 8;

// A block computes kRows rows of W times kTokens tokens with kWarpsM x kWarpsN warps; each warp
// owns a (kRows / kWarpsM) x (kTokens / kWarpsN) piece of the output. Every thread dequantizes
// half a tile row (32 weights) a step, hence kThreads == 2 * kRows.
template <int kRows_, int kTokens_, int kWarpsM_, int kWarpsN_, int kMinBlocks_>
struct TileShape {
  static constexpr int kRows = kRows_;
  static constexpr int kTokens = kTokens_;
  static constexpr int kWarpsM = kWarpsM_;
  static constexpr int kWarpsN = kWarpsN_;
  static constexpr int kMinBlocks = kMinBlocks_;  // blocks per SM the registers must allow
  static constexpr int kThreads = 32 * kWarpsM * kWarpsN;
  static constexpr int kWarpRows = kRows / kWarpsM;
  static constexpr int kWarpTokens = kTokens / kWarpsN;
  static constexpr int kMTiles = kWarpRows / 16;          // m16 tiles of a warp
  static constexpr int kNTiles = kWarpTokens / 8;         // n8 tiles of a warp
  static constexpr int kWTileVecs = kRows * kSegments;    // uint4 per stage
  static constexpr int kXTileVecs = kTokens * kSegments;  // uint4 per stage
  static constexpr int kXVecsPerThread = kXTileVecs / kThreads;
  static constexpr size_t kSharedBytes = 2 * (kWTileVecs + kXTileVecs) * sizeof(uint4);
  static_assert(kThreads == 2 * kRows, "a thread dequantizes half a tile row a step");
  static_assert(kWarpRows % 16 == 0 && kWarpTokens % 16 == 0, "whole ldmatrix.x4 loads");
  static_assert(kXTileVecs % kThreads == 0, "x tile in whole 16-byte copies a thread");
};

using Tile128x128 = TileShape<128, 128, 2, 4, 2>;
using Tile64x128 = TileShape<64, 128, 2, 2, 4>;
using Tile64x64 = TileShape<64, 64, 2, 2, 4>;

__device__ __forceinline__ __half2 as_half2(uint32_t v) {
  __half2 h;
  memcpy(&h, &v, sizeof(h));
  return h;
}

__device__ __forceinline__ uint32_t as_bits(__half2 h) {
  uint32_t v;
  memcpy(&v, &h, sizeof(v));
  return v;
}

__device__ __forceinline__ uint4 load16(const uint8_t* p) {
  return __ldg(reinterpret_cast<const uint4*>(p));
}

// How a run of weights comes out of its quant bytes: w = (b * s1 + c1) * s2 + c2 for each byte b
// taken as the f16 1024 + b (0x64 above the byte). The first fma is exact (an integer of at most
// 11 bits), so a weight is rounded once: (q * sc) * d - dmin * m for the K-quants' 4/5-bit runs.
struct RunScale {
  __half2 s1, c1, s2, c2;
};

// Four weights, the bytes of `values`, as two half2.
__device__ __forceinline__ uint2 dequant4(uint32_t values, const RunScale& k) {
  const __half2 q01 = as_half2(__byte_perm(values, 0x64646464u, 0x4140));
  const __half2 q23 = as_half2(__byte_perm(values, 0x64646464u, 0x4342));
  return make_uint2(as_bits(__hfma2(__hfma2(q01, k.s1, k.c1), k.s2, k.c2)),
                    as_bits(__hfma2(__hfma2(q23, k.s1, k.c1), k.s2, k.c2)));
}

// Sixteen weights (the bytes of four words) into segments seg and seg + 1 of a tile row.
__device__ __forceinline__ void store16(uint4* tile_row, int key, int seg, const uint32_t (&v)[4],
                                        const RunScale& k) {
  const uint2 a = dequant4(v[0], k), b = dequant4(v[1], k);
  const uint2 c = dequant4(v[2], k), d = dequant4(v[3], k);
  tile_row[seg ^ key] = make_uint4(a.x, a.y, b.x, b.y);
  tile_row[(seg + 1) ^ key] = make_uint4(c.x, c.y, d.x, d.y);
}

// K-quant runs: q * sc exactly (q < 32, sc < 64), then times d, minus dmin * m.
__device__ __forceinline__ RunScale k_run(float d, float dmin, float sc, float m) {
  return RunScale{__float2half2_rn(sc), __float2half2_rn(-1024.0f * sc), __float2half2_rn(d),
                  __float2half2_rn(-dmin * m)};
}

// Runs of signed quants stored as q + bias: (q) exactly, then times scale.
__device__ __forceinline__ RunScale biased_run(float bias, __half2 scale) {
  return RunScale{__float2half2_rn(1.0f), __float2half2_rn(-1024.0f - bias), scale,
                  __float2half2_rn(0.0f)};
}

// Scale and min number i (0..7) of a K-quant block, from its scale bytes 0-3, 4-7 and 8-11.
__device__ __forceinline__ void k_scale_min(int i, uint32_t s0, uint32_t s1, uint32_t s2,
                                            float* scale, float* min) {
  if (i < 4) {
    *scale = static_cast<float>((s0 >> (8 * i)) & 63);
    *min = static_cast<float>((s1 >> (8 * i)) & 63);
  } else {
    const int shift = 8 * (i - 4);
    *scale = static_cast<float>(((s2 >> shift) & 0xF) | (((s0 >> (shift + 6)) & 3) << 4));
    *min = static_cast<float>(((s2 >> (shift + 4)) & 0xF) | (((s1 >> (shift + 6)) & 3) << 4));
  }
}

// A thread's share of W in one step: row `row`, columns 64 * step .. + 63, half `part` of them.
// load() fetches the raw bytes (issued early, used after the step's mma); store() dequantizes
// them into the tile row in shared memory. Columns 16 part .. + 15 and 32 + 16 part .. + 15 of the
// step for the K-quants (the low and high nibbles of the same quant bytes), 32 part .. + 31 for
// q8_0.
template <GpuType T>
struct StepQuants;

// q4_K: blocks of 256 weights (144 bytes): d, dmin, 12 scale bytes, then 4 runs of 32 bytes; run
// j holds weights 64 j + l (low nibble, scale 2 j) and 64 j + 32 + l (high nibble, scale 2 j + 1).
template <>
struct StepQuants<GpuType::kQ4K> {
  uint4 head;  // d, dmin, scales
  uint4 qs;

  __device__ __forceinline__ void load(const GpuMatrix& w, int row, int step, int part) {
    const uint8_t* block =
        w.q + static_cast<size_t>(row) * w.row_bytes + static_cast<size_t>(step >> 2) * 144;
    head = load16(block);
    qs = load16(block + 16 + 32 * (step & 3) + 16 * part);
  }

  __device__ __forceinline__ void store(int step, int part, uint4* tile_row, int key) const {
    const int j = step & 3;
    const float2 d_dmin = __half22float2(as_half2(head.x));
    float sc_lo, m_lo, sc_hi, m_hi;
    k_scale_min(2 * j, head.y, head.z, head.w, &sc_lo, &m_lo);
    k_scale_min(2 * j + 1, head.y, head.z, head.w, &sc_hi, &m_hi);
    const uint32_t q[4] = {qs.x, qs.y, qs.z, qs.w};
    uint32_t lo[4], hi[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      lo[i] = q[i] & 0x0F0F0F0Fu;
      hi[i] = (q[i] >> 4) & 0x0F0F0F0Fu;
    }
    store16(tile_row, key, 2 * part, lo, k_run(d_dmin.x, d_dmin.y, sc_lo, m_lo));
    store16(tile_row, key, 4 + 2 * part, hi, k_run(d_dmin.x, d_dmin.y, sc_hi, m_hi));
  }
};

// q5_K: as q4_K (176 bytes) with 32 bytes of high bits after the scales: bit 2 j of byte l is the
// fifth bit of weight 64 j + l, bit 2 j + 1 that of weight 64 j + 32 + l.
template <>
struct StepQuants<GpuType::kQ5K> {
  uint4 head;  // d, dmin, scales
  uint4 qh;
  uint4 qs;

  __device__ __forceinline__ void load(const GpuMatrix& w, int row, int step, int part) {
    const uint8_t* block =
        w.q + static_cast<size_t>(row) * w.row_bytes + static_cast<size_t>(step >> 2) * 176;
    head = load16(block);
    qh = load16(block + 16 + 16 * part);
    qs = load16(block + 48 + 32 * (step & 3) + 16 * part);
  }

  __device__ __forceinline__ void store(int step, int part, uint4* tile_row, int key) const {
    const int j = step & 3;
    const float2 d_dmin = __half22float2(as_half2(head.x));
    float sc_lo, m_lo, sc_hi, m_hi;
    k_scale_min(2 * j, head.y, head.z, head.w, &sc_lo, &m_lo);
    k_scale_min(2 * j + 1, head.y, head.z, head.w, &sc_hi, &m_hi);
    const uint32_t q[4] = {qs.x, qs.y, qs.z, qs.w};
    const uint32_t h[4] = {qh.x, qh.y, qh.z, qh.w};
    uint32_t lo[4], hi[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      lo[i] = (q[i] & 0x0F0F0F0Fu) | (((h[i] >> (2 * j)) & 0x01010101u) << 4);
      hi[i] = ((q[i] >> 4) & 0x0F0F0F0Fu) | (((h[i] >> (2 * j + 1)) & 0x01010101u) << 4);
    }
    store16(tile_row, key, 2 * part, lo, k_run(d_dmin.x, d_dmin.y, sc_lo, m_lo));
    store16(tile_row, key, 4 + 2 * part, hi, k_run(d_dmin.x, d_dmin.y, sc_hi, m_hi));
  }
};

// q6_K (split layout): 192 quant bytes a block, ql[128] then qh[64]. Weight 128 h + 32 k + l
// (h < 2, k < 4, l < 32) is nibble k / 2 of ql[64 h + 32 (k % 2) + l] with bits 2 k, 2 k + 1 of
// qh[32 h + l] above it, minus 32, times d * scales[8 h + 2 k + l / 16]. A step (64 columns) is
// h = j / 2, k = 2 (j % 2) + {0, 1} for j = step % 4.
template <>
struct StepQuants<GpuType::kQ6K> {
  uint4 ql_a;  // ql[64 h + 16 part ..]: k even
  uint4 ql_b;  // ql[64 h + 32 + 16 part ..]: k odd
  uint4 qh;
  uint32_t scales;  // scales[8 h + 2 k0 ..+ 3]: bytes part and 2 + part are this thread's
  unsigned short d;

  __device__ __forceinline__ void load(const GpuMatrix& w, int row, int step, int part) {
    const size_t b = static_cast<size_t>(row) * w.blocks_per_row + static_cast<size_t>(step >> 2);
    const int h = (step >> 1) & 1, k0 = 2 * (step & 1);
    const uint8_t* quants = w.q + b * 192;
    ql_a = load16(quants + 64 * h + 16 * part);
    ql_b = load16(quants + 64 * h + 32 + 16 * part);
    qh = load16(quants + 128 + 32 * h + 16 * part);
    scales = __ldg(reinterpret_cast<const uint32_t*>(w.scales + b * 16 + 8 * h + 2 * k0));
    d = __ldg(reinterpret_cast<const unsigned short*>(w.d) + b);
  }

  __device__ __forceinline__ void store(int step, int part, uint4* tile_row, int key) const {
    const int nibble_shift = 4 * (step & 1);
    const float scale = __half2float(__ushort_as_half(d));
    const int scale_a = static_cast<int8_t>(scales >> (8 * part));
    const int scale_b = static_cast<int8_t>(scales >> (8 * part + 16));
    const uint32_t a[4] = {ql_a.x, ql_a.y, ql_a.z, ql_a.w};
    const uint32_t b[4] = {ql_b.x, ql_b.y, ql_b.z, ql_b.w};
    const uint32_t h[4] = {qh.x, qh.y, qh.z, qh.w};
    uint32_t first[4], second[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      first[i] =
          ((a[i] >> nibble_shift) & 0x0F0F0F0Fu) | (((h[i] >> nibble_shift) & 0x03030303u) << 4);
      second[i] = ((b[i] >> nibble_shift) & 0x0F0F0F0Fu) |
                  (((h[i] >> (nibble_shift + 2)) & 0x03030303u) << 4);
    }
    store16(tile_row, key, 2 * part, first, biased_run(32.0f, __float2half2_rn(scale * scale_a)));
    store16(tile_row, key, 4 + 2 * part, second,
            biased_run(32.0f, __float2half2_rn(scale * scale_b)));
  }
};

// q8_0 (split layout): blocks of 32 int8 and one d, indexed row * blocks_per_row + block; a step
// is blocks 2 step and 2 step + 1, one a part.
template <>
struct StepQuants<GpuType::kQ8_0> {
  uint4 q_lo, q_hi;
  unsigned short d;

  __device__ __forceinline__ void load(const GpuMatrix& w, int row, int step, int part) {
    const size_t b = static_cast<size_t>(row) * w.blocks_per_row + 2 * step + part;
    q_lo = load16(w.q + b * 32);
    q_hi = load16(w.q + b * 32 + 16);
    d = __ldg(reinterpret_cast<const unsigned short*>(w.d) + b);
  }

  __device__ __forceinline__ void store(int /*step*/, int part, uint4* tile_row, int key) const {
    // Flipping the sign bit makes the bytes q + 128.
    const uint32_t lo[4] = {q_lo.x ^ 0x80808080u, q_lo.y ^ 0x80808080u, q_lo.z ^ 0x80808080u,
                            q_lo.w ^ 0x80808080u};
    const uint32_t hi[4] = {q_hi.x ^ 0x80808080u, q_hi.y ^ 0x80808080u, q_hi.z ^ 0x80808080u,
                            q_hi.w ^ 0x80808080u};
    const RunScale run = biased_run(128.0f, __half2half2(__ushort_as_half(d)));
    store16(tile_row, key, 4 * part, lo, run);
    store16(tile_row, key, 4 * part + 2, hi, run);
  }
};

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Copies 16 bytes from global to shared memory without blocking; zeros them where !valid.
__device__ __forceinline__ void copy16_async(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }

__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t address, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address)
               : "memory");
}

// c += a * b for one m16n8k16 tile (a: row-major W rows x k, b: k x tokens, f32 accumulators).
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// One k16 slice of a step: acc += A (the warp's W rows) * B (its tokens). a_address and
// b_address are this lane's ldmatrix addresses in the first m16 tile and the first pair of n8
// tiles. Whichever operand needs fewer registers is loaded whole first.
template <class Tile>
__device__ __forceinline__ void mma_k16(uint32_t a_address, uint32_t b_address,
                                        float (&acc)[Tile::kMTiles][Tile::kNTiles][4]) {
  constexpr uint32_t kM16Bytes = 16 * kSegments * 16;  // 16 tile rows (or tokens)
  if constexpr (Tile::kNTiles * 2 <= Tile::kMTiles * 4) {
    uint32_t b[Tile::kNTiles][2];
#pragma unroll
    for (int np = 0; np < Tile::kNTiles / 2; ++np) {
      uint32_t r[4];
      ldmatrix_x4(b_address + np * kM16Bytes, r);
      b[2 * np][0] = r[0];
      b[2 * np][1] = r[1];
      b[2 * np + 1][0] = r[2];
      b[2 * np + 1][1] = r[3];
    }
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      uint32_t a[4];
      ldmatrix_x4(a_address + mt * kM16Bytes, a);
#pragma unroll
      for (int nt = 0; nt < Tile::kNTiles; ++nt) mma_16816(acc[mt][nt], a, b[nt][0], b[nt][1]);
    }
  } else {
    uint32_t a[Tile::kMTiles][4];
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) ldmatrix_x4(a_address + mt * kM16Bytes, a[mt]);
#pragma unroll
    for (int np = 0; np < Tile::kNTiles / 2; ++np) {
      uint32_t r[4];
      ldmatrix_x4(b_address + np * kM16Bytes, r);
#pragma unroll
      for (int mt = 0; mt < Tile::kMTiles; ++mt) {
        mma_16816(acc[mt][2 * np], a[mt], r[0], r[1]);
        mma_16816(acc[mt][2 * np + 1], a[mt], r[2], r[3]);
      }
    }
  }
}

// Starts copying the step's x tile (tokens token0 .., columns 64 step ..) into shared memory. The
// thread copies segment tid % 8 of tokens tid / 8 + i * kThreads / 8; x_thread points at the first
// of them (column 0), and tokens past n_tokens are zero-filled.
template <class Tile>
__device__ __forceinline__ void copy_x_step(const __half* x_thread, size_t token_stride,
                                            int valid_copies, int step, uint32_t x_tile) {
  const int seg = threadIdx.x & 7, token = threadIdx.x >> 3;
  const uint32_t dst = x_tile + (token * kSegments + (seg ^ (token & 7))) * 16;
  const __half* src = x_thread + step * kStepCols;
#pragma unroll
  for (int i = 0; i < Tile::kXVecsPerThread; ++i) {
    const bool valid = i < valid_copies;
    copy16_async(dst + i * (Tile::kThreads / 8) * kSegments * 16,
                 valid ? src + i * token_stride : src, valid);
  }
}

// grid: (token tiles, row tiles), token tiles fastest so that the blocks sharing W rows run
// together. Two shared-memory stages: while the tensor cores work on step s, the x tile of step
// s + 1 streams in by cp.async and this thread's quant bytes of step s + 1 load into registers;
// it dequantizes them into the other W stage after its mma.
template <GpuType T, class Tile>
__global__ void __launch_bounds__(Tile::kThreads, Tile::kMinBlocks)
    matmul_tc_kernel(GpuMatrix w, const __half* __restrict__ x, int n_tokens, float* __restrict__ y,
                     int y_stride) {
  extern __shared__ __align__(1024) uint4 shared[];
  uint4* const w_tiles = shared;                         // [2][kRows][kSegments]
  uint4* const x_tiles = shared + 2 * Tile::kWTileVecs;  // [2][kTokens][kSegments]
  const uint32_t w_tiles_address = shared_address(w_tiles);
  const uint32_t x_tiles_address = shared_address(x_tiles);

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warp_m = warp % Tile::kWarpsM, warp_n = warp / Tile::kWarpsM;
  const int row0 = blockIdx.y * Tile::kRows, token0 = blockIdx.x * Tile::kTokens;
  const int steps = w.cols / kStepCols;

  // The half tile row this thread dequantizes (rows past the end repeat the last row).
  const int quant_row = threadIdx.x % Tile::kRows, quant_part = threadIdx.x / Tile::kRows;
  const int source_row = min(row0 + quant_row, w.rows - 1);
  const int quant_key = quant_row & 7;

  // ldmatrix addresses: lane l points at row l % 16 of the warp's m16 tile (segment 2 kk + l / 16)
  // and at token (l % 8) + 8 (l / 16) of a pair of n8 tiles (segment 2 kk + (l / 8) % 2). Tile
  // rows and tokens start at multiples of 8, so the swizzle key is l % 8 for both, and as tile
  // rows are 128-byte aligned, slice kk's address is the kk = 0 address ^ (32 kk).
  const int key = lane & 7;
  const uint32_t a_lane =
      (warp_m * Tile::kWarpRows + (lane & 15)) * kSegments * 16 + (((lane >> 4) ^ key) << 4);
  const uint32_t b_lane =
      (warp_n * Tile::kWarpTokens + (lane & 7) + ((lane >> 4) << 3)) * kSegments * 16 +
      ((((lane >> 3) & 1) ^ key) << 4);

  float acc[Tile::kMTiles][Tile::kNTiles][4];
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt) {
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.0f;
    }
  }

  StepQuants<T> quants;
  quants.load(w, source_row, 0, quant_part);
  // x copies: this thread's first token, the distance between its tokens, and how many are real.
  const int copy_token = token0 + (threadIdx.x >> 3);
  const __half* x_thread =
      x + static_cast<size_t>(min(copy_token, n_tokens - 1)) * w.cols + (threadIdx.x & 7) * 8;
  const size_t copy_stride = static_cast<size_t>(Tile::kThreads / 8) * w.cols;
  const int valid_copies = ceil_div(n_tokens - copy_token, Tile::kThreads / 8);

  copy_x_step<Tile>(x_thread, copy_stride, valid_copies, 0, x_tiles_address);
  commit_copies();
  quants.store(0, quant_part, w_tiles + quant_row * kSegments, quant_key);

  for (int step = 0; step < steps; ++step) {
    const int stage = step & 1;
    wait_copies();
    __syncthreads();  // stage `stage` complete; everyone is done reading the other one
    const bool more = step + 1 < steps;
    if (more) {
      copy_x_step<Tile>(x_thread, copy_stride, valid_copies, step + 1,
                        x_tiles_address + (stage ^ 1) * Tile::kXTileVecs * 16);
      commit_copies();
      quants.load(w, source_row, step + 1, quant_part);
    }

    const uint32_t a_address = w_tiles_address + stage * Tile::kWTileVecs * 16 + a_lane;
    const uint32_t b_address = x_tiles_address + stage * Tile::kXTileVecs * 16 + b_lane;
#pragma unroll
    for (int kk = 0; kk < kStepCols / 16; ++kk) {
      mma_k16<Tile>(a_address ^ (kk << 5), b_address ^ (kk << 5), acc);
    }

    if (more) {
      quants.store(step + 1, quant_part,
                   w_tiles + (stage ^ 1) * Tile::kWTileVecs + quant_row * kSegments, quant_key);
    }
  }

  // Accumulator e of an m16n8 tile: row g + 8 (e / 2), token 2 t + e % 2 (lane = 4 g + t).
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt) {
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int row = row0 + warp_m * Tile::kWarpRows + mt * 16 + g + 8 * (e >> 1);
        const int token = token0 + warp_n * Tile::kWarpTokens + nt * 8 + 2 * t + (e & 1);
        if (row < w.rows && token < n_tokens) {
          y[static_cast<size_t>(token) * y_stride + row] = acc[mt][nt][e];
        }
      }
    }
  }
}

// x (f32) to f16, four values a thread and round, clamped to the f16 range.
__global__ void to_half_kernel(const float4* __restrict__ x, size_t n4, uint2* __restrict__ out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float4 v = x[i];
    constexpr float kMax = 65504.0f;
    const __half2 a =
        __floats2half2_rn(fminf(fmaxf(v.x, -kMax), kMax), fminf(fmaxf(v.y, -kMax), kMax));
    const __half2 b =
        __floats2half2_rn(fminf(fmaxf(v.z, -kMax), kMax), fminf(fmaxf(v.w, -kMax), kMax));
    out[i] = make_uint2(as_bits(a), as_bits(b));
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Whether the kernels can read w: a supported type, whole steps, 16-byte aligned quants.
bool supported(const GpuMatrix& w) {
  if (w.rows < 1 || w.cols < kStepCols || w.q == nullptr || !aligned16(w.q)) return false;
  switch (w.type) {
    case GpuType::kQ4K:
    case GpuType::kQ5K: {
      const size_t block_bytes = w.type == GpuType::kQ4K ? 144 : 176;
      return w.cols % 256 == 0 && w.blocks_per_row == w.cols / 256 && w.row_bytes % 16 == 0 &&
             w.row_bytes >= block_bytes * w.blocks_per_row;
    }
    case GpuType::kQ6K:  // scales are read 4 at a time
      return w.cols % 256 == 0 && w.blocks_per_row == w.cols / 256 && w.scales != nullptr &&
             (reinterpret_cast<uintptr_t>(w.scales) & 3) == 0 && w.d != nullptr;
    case GpuType::kQ8_0:
      return w.cols % kStepCols == 0 && w.blocks_per_row == w.cols / 32 && w.d != nullptr;
    default:
      return false;
  }
}

struct TileInfo {
  TcTile tile;
  int rows, tokens;
  int blocks_per_sm;  // resident blocks an SM is expected to hold
  float efficiency;   // relative throughput of a full SM (bigger tiles reuse more)
};

constexpr TileInfo kTiles[] = {
    {TcTile::k128x128, Tile128x128::kRows, Tile128x128::kTokens, 2, 1.0f},
    {TcTile::k64x128, Tile64x128::kRows, Tile64x128::kTokens, 4, 0.85f},
    {TcTile::k64x64, Tile64x64::kRows, Tile64x64::kTokens, 4, 0.7f},
};

// The tile with the least estimated time: whole waves of resident blocks, each wave costing the
// work of its tiles (padding included) over the tile's efficiency.
TcTile pick_tile(int rows, int n_tokens) {
  int device = 0, sms = 132;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
    sms = 132;
  }
  TcTile best = TcTile::k128x128;
  double best_cost = 0.0;
  for (const TileInfo& info : kTiles) {
    const long long tiles =
        static_cast<long long>(ceil_div(rows, info.rows)) * ceil_div(n_tokens, info.tokens);
    const long long slots = static_cast<long long>(sms) * info.blocks_per_sm;
    const long long waves = (tiles + slots - 1) / slots;
    const double cost =
        static_cast<double>(waves) * info.blocks_per_sm * info.rows * info.tokens / info.efficiency;
    if (best_cost == 0.0 || cost < best_cost) {
      best = info.tile;
      best_cost = cost;
    }
  }
  return best;
}

template <GpuType T, class Tile>
void launch_tiled(const GpuMatrix& w, const __half* x, int n_tokens, float* y, int y_stride,
                  cudaStream_t stream) {
  const auto kernel = matmul_tc_kernel<T, Tile>;
  if (Tile::kSharedBytes > 48 * 1024) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         static_cast<int>(Tile::kSharedBytes));
  }
  const dim3 grid(ceil_div(n_tokens, Tile::kTokens), ceil_div(w.rows, Tile::kRows));
  kernel<<<grid, Tile::kThreads, Tile::kSharedBytes, stream>>>(w, x, n_tokens, y, y_stride);
}

template <GpuType T>
void launch_typed(const GpuMatrix& w, const __half* x, int n_tokens, float* y, int y_stride,
                  TcTile tile, cudaStream_t stream) {
  switch (tile) {
    case TcTile::k64x128:
      return launch_tiled<T, Tile64x128>(w, x, n_tokens, y, y_stride, stream);
    case TcTile::k64x64:
      return launch_tiled<T, Tile64x64>(w, x, n_tokens, y, y_stride, stream);
    default:
      return launch_tiled<T, Tile128x128>(w, x, n_tokens, y, y_stride, stream);
  }
}

}  // namespace

size_t matmul_tc_scratch_bytes(int n_tokens, int cols) {
  if (n_tokens < 1 || cols < 1) return 0;
  const size_t bytes = static_cast<size_t>(n_tokens) * cols * sizeof(__half);
  return (bytes + 255) / 256 * 256;
}

bool launch_matmul_tc(const GpuMatrix& w, const float* x, int n_tokens, float* y, int y_stride,
                      void* scratch, cudaStream_t stream, TcTile tile) {
  if (!supported(w) || n_tokens < 1 || y_stride < w.rows || x == nullptr || y == nullptr ||
      scratch == nullptr || !aligned16(x) || !aligned16(scratch)) {
    return false;
  }
  if (tile == TcTile::kAuto) tile = pick_tile(w.rows, n_tokens);
  // grid.y holds the row tiles.
  const int tile_rows = tile == TcTile::k128x128 ? Tile128x128::kRows : Tile64x64::kRows;
  if (ceil_div(w.rows, tile_rows) > 65535) return false;

  auto* x_half = static_cast<__half*>(scratch);
  const size_t n4 = static_cast<size_t>(n_tokens) * w.cols / 4;
  const unsigned convert_blocks = static_cast<unsigned>(std::min<size_t>((n4 + 255) / 256, 4096));
  to_half_kernel<<<convert_blocks, 256, 0, stream>>>(reinterpret_cast<const float4*>(x), n4,
                                                     reinterpret_cast<uint2*>(x_half));
  switch (w.type) {
    case GpuType::kQ4K:
      launch_typed<GpuType::kQ4K>(w, x_half, n_tokens, y, y_stride, tile, stream);
      break;
    case GpuType::kQ5K:
      launch_typed<GpuType::kQ5K>(w, x_half, n_tokens, y, y_stride, tile, stream);
      break;
    case GpuType::kQ6K:
      launch_typed<GpuType::kQ6K>(w, x_half, n_tokens, y, y_stride, tile, stream);
      break;
    default:
      launch_typed<GpuType::kQ8_0>(w, x_half, n_tokens, y, y_stride, tile, stream);
      break;
  }
  return true;
}

}  // namespace cmdai::cuda
