// Byte layouts of the quantized blocks cmdai computes with, as stored in GGUF files (ggml's
// block structs). Half-precision fields are raw uint16_t bits; convert with base/fp16.h.
#pragma once

#include <cstdint>

namespace cmdai {

inline constexpr int kQK = 32;           // elements per Q4_0/Q5_0/Q8_0 block
inline constexpr int kQKK = 256;         // elements per K-quant super-block
inline constexpr int kKScaleBytes = 12;  // 8 six-bit scales + 8 six-bit mins, packed

// x = d * (q - 8), q the 4-bit nibble. Low nibbles hold elements 0..15, high nibbles 16..31.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};

// Like Q4_0 with a fifth bit per element in qh (bit j of the little-endian word for element j):
// x = d * (q - 16).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};

// x = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};

// 8 sub-blocks of 32: x = d * scale[j] * q - dmin * min[j], scales/mins 6-bit packed in `scales`.
// Each 32-byte run of qs holds two sub-blocks: low nibbles the first, high nibbles the second.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQKK / 2];
};

// Q4_K plus a fifth bit: bit (2*c) / (2*c+1) of qh[l] belongs to chunk c's low / high nibble of l.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};

// 16 sub-blocks of 16: x = d * scales[j] * (q - 32), q six bits split as 4 low (ql) + 2 high (qh).
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};

// Activation format for the K-quant dot products: x = d * q, with per-16 sums of q precomputed
// so the K-quant mins can be applied once per sub-block.
struct BlockQ8_K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Unpacks the 6-bit scale and min of sub-block j (0..7) from a Q4_K/Q5_K `scales` array:
// sub-blocks 0..3 keep their low 6 bits in bytes 0..3 / 4..7; 4..7 spread over bytes 8..11 plus
// the top two bits of bytes 0..7.
inline void k_scale_min(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace cmdai
