#include "quant/dequantize.h"

#include <cstring>
#include <limits>

#include "base/fp16.h"
#include "quant/blocks.h"

namespace cmdai {
namespace {

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
      y[j + kQK / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, sizeof qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int hi0 = ((qh >> j) & 1) << 4;
      const int hi1 = ((qh >> (j + 16)) & 1) << 4;
      y[j] = static_cast<float>(((b[i].qs[j] & 0xF) | hi0) - 16) * d;
      y[j + kQK / 2] = static_cast<float>(((b[i].qs[j] >> 4) | hi1) - 16) * d;
    }
  }
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

// Q4_K and Q5_K share everything but the fifth bit; qh == nullptr means Q4_K.
void dequantize_k4_k5(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* qs,
                      const uint8_t* qh, float* y) {
  const float d = fp16_to_f32(d16);
  const float dmin = fp16_to_f32(dmin16);
  for (int chunk = 0; chunk < 4; ++chunk, qs += 32) {
    uint8_t sc, m;
    k_scale_min(2 * chunk, scales, &sc, &m);
    const float d1 = d * sc, m1 = dmin * m;
    k_scale_min(2 * chunk + 1, scales, &sc, &m);
    const float d2 = d * sc, m2 = dmin * m;
    const int lo_bit = 1 << (2 * chunk), hi_bit = 2 << (2 * chunk);
    for (int l = 0; l < 32; ++l) {
      const int hi = qh != nullptr && (qh[l] & lo_bit) ? 16 : 0;
      *y++ = d1 * static_cast<float>((qs[l] & 0xF) + hi) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int hi = qh != nullptr && (qh[l] & hi_bit) ? 16 : 0;
      *y++ = d2 * static_cast<float>((qs[l] >> 4) + hi) - m2;
    }
  }
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_f32(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    // Each half of 128 elements: ql[0..64) and qh[0..32) hold four interleaved runs of 32.
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is] * static_cast<float>(q1);
        y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
        y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
        y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
      }
    }
  }
}

void dequantize_q8_k(const BlockQ8_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQKK) {
    for (int j = 0; j < kQKK; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace

bool can_dequantize(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ4_0:
    case TensorType::kQ5_0:
    case TensorType::kQ8_0:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
    case TensorType::kQ8_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  if (n <= 0) return;
  const int64_t block = traits_of(type).block_elements;
  if (!can_dequantize(type) || n % block != 0 || src == nullptr) {
    for (int64_t i = 0; i < n; ++i) dst[i] = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  const int64_t nb = n / block;
  switch (type) {
    case TensorType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
      return;
    }
    case TensorType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return;
    }
    case TensorType::kQ4_0:
      return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case TensorType::kQ5_0:
      return dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case TensorType::kQ8_0:
      return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case TensorType::kQ4_K: {
      const auto* b = static_cast<const BlockQ4_K*>(src);
      for (int64_t i = 0; i < nb; ++i) {
        dequantize_k4_k5(b[i].d, b[i].dmin, b[i].scales, b[i].qs, nullptr, dst + i * kQKK);
      }
      return;
    }
    case TensorType::kQ5_K: {
      const auto* b = static_cast<const BlockQ5_K*>(src);
      for (int64_t i = 0; i < nb; ++i) {
        dequantize_k4_k5(b[i].d, b[i].dmin, b[i].scales, b[i].qs, b[i].qh, dst + i * kQKK);
      }
      return;
    }
    case TensorType::kQ6_K:
      return dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    case TensorType::kQ8_K:
      return dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb);
    default:
      return;
  }
}

}  // namespace cmdai
