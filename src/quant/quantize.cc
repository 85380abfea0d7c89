#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/fp16.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"

namespace cmdai {
namespace {

// Round half to even without a libm call and without undefined behaviour for NaN or huge inputs:
// adding 1.5 * 2^23 makes the float unit round the value onto the last mantissa bit (the rule
// ggml's nearest_int uses too). Inputs are clamped into the range where that is exact.
int round_even(float v) {
  v = v < 4194303.0f ? v : 4194303.0f;
  v = v > -4194303.0f ? v : -4194303.0f;  // NaN stays NaN and decodes to some in-range int below
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// ---- activation formats: rounding must match llama.cpp's x86 backend (see quantize.h) ----

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    y[i].d = f32_to_fp16(amax / 127.0f);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(round_even(x[j] * id));
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float max = 0.0f, amax = 0.0f;
    for (int j = 0; j < kQKK; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof y[i]);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQKK; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::min(127, round_even(iscale * x[j])));
    }
    for (int g = 0; g < kQKK / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[g * 16 + l];
      y[i].bsums[g] = static_cast<int16_t>(sum);
    }
    y[i].d = 1.0f / iscale;
  }
}

// ---- weight formats: scale search ----

// Best s for x ≈ s * q, q = clamp(round(x / s), qmin, qmax): tries scales around the one that
// maps the largest-magnitude value onto the wider end (qmin), refitting each by least squares.
// Float sums are plenty for blocks of 16-32 values, and keep synthetic-model builds fast.
float fit_symmetric(const float* x, int n, int qmin, int qmax) {
  float mx = 0.0f, amax = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      mx = x[j];
    }
  }
  if (amax == 0.0f) return 0.0f;
  float best_s = mx / static_cast<float>(qmin), best_err = INFINITY;
  for (int k = -4; k <= 6; ++k) {
    float s = mx / (static_cast<float>(qmin) * (1.0f + 0.04f * static_cast<float>(k)));
    for (int pass = 0; pass < 2; ++pass) {
      const float inv = 1.0f / s;
      float sqx = 0.0f, err = 0.0f;
      int sqq = 0;
      for (int j = 0; j < n; ++j) {
        const int q = std::clamp(round_even(x[j] * inv), qmin, qmax);
        const float r = x[j] - s * static_cast<float>(q);
        sqx += static_cast<float>(q) * x[j];
        sqq += q * q;
        err += r * r;
      }
      if (err < best_err) best_err = err, best_s = s;
      if (sqq == 0) break;
      s = sqx / static_cast<float>(sqq);
    }
  }
  return best_s;
}

struct ScaleMin {
  float scale = 0.0f;  // >= 0
  float min = 0.0f;    // >= 0: the offset subtracted, so x ≈ scale * q - min with q in [0, nmax]
};

// Squared error of x ≈ s * q + lo with rounded q, and the sums for the least-squares refit.
struct AffineFit {
  float err = 0, sx = 0, sqx = 0;
  int sq = 0, sqq = 0;
};

AffineFit affine_fit(const float* x, int n, int nmax, float s, float lo) {
  AffineFit f;
  const float inv = s > 0 ? 1.0f / s : 0.0f;
  for (int j = 0; j < n; ++j) {
    const int q = std::clamp(round_even((x[j] - lo) * inv), 0, nmax);
    const float r = x[j] - (s * static_cast<float>(q) + lo);
    f.err += r * r;
    f.sq += q, f.sqq += q * q, f.sx += x[j], f.sqx += static_cast<float>(q) * x[j];
  }
  return f;
}

// Best (scale, min) for x ≈ scale * q - min, trying several spans and refitting by least squares.
ScaleMin fit_scale_min(const float* x, int n, int nmax) {
  float lo = 0.0f, hi = x[0];
  for (int j = 0; j < n; ++j) lo = std::min(lo, x[j]), hi = std::max(hi, x[j]);
  if (hi <= lo) return {0.0f, -lo};
  ScaleMin best{(hi - lo) / static_cast<float>(nmax), -lo};
  float best_err = INFINITY;
  for (int k = -3; k <= 6; ++k) {
    float s = (hi - lo) / (static_cast<float>(nmax) + 0.3f * static_cast<float>(k));
    float l = lo;
    for (int pass = 0; pass < 2; ++pass) {
      const AffineFit f = affine_fit(x, n, nmax, s, l);
      if (f.err < best_err) best_err = f.err, best = {s, -l};
      const double det = static_cast<double>(n) * f.sqq - static_cast<double>(f.sq) * f.sq;
      if (det <= 0) break;
      s = static_cast<float>((static_cast<double>(n) * f.sqx - static_cast<double>(f.sq) * f.sx) /
                             det);
      l = static_cast<float>(
          (static_cast<double>(f.sqq) * f.sx - static_cast<double>(f.sq) * f.sqx) / det);
      if (l > 0.0f) l = 0.0f, s = f.sqx / static_cast<float>(f.sqq);
      if (!(s > 0.0f)) break;
    }
  }
  return best;
}

// Six-bit super-block quantization of 8 scales and 8 mins, packed as Q4_K/Q5_K store them.
void pack_k_scales(const ScaleMin* sm, uint16_t* d16, uint16_t* dmin16, uint8_t* packed,
                   uint8_t* sc, uint8_t* mn) {
  float max_s = 0.0f, max_m = 0.0f;
  for (int j = 0; j < 8; ++j)
    max_s = std::max(max_s, sm[j].scale), max_m = std::max(max_m, sm[j].min);
  *d16 = f32_to_fp16(max_s / 63.0f);
  *dmin16 = f32_to_fp16(max_m / 63.0f);
  const float d = fp16_to_f32(*d16), dmin = fp16_to_f32(*dmin16);
  for (int j = 0; j < 8; ++j) {
    sc[j] = d > 0 ? static_cast<uint8_t>(std::clamp(round_even(sm[j].scale / d), 0, 63)) : 0;
    mn[j] = dmin > 0 ? static_cast<uint8_t>(std::clamp(round_even(sm[j].min / dmin), 0, 63)) : 0;
  }
  std::memset(packed, 0, kKScaleBytes);
  for (int j = 0; j < 4; ++j) {
    packed[j] = sc[j];
    packed[j + 4] = mn[j];
  }
  for (int j = 4; j < 8; ++j) {
    packed[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
    packed[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
    packed[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
  }
}

// Quantizes 256 values to Q4_K (nmax 15) or Q5_K (nmax 31) codes, returning the packed header.
void quantize_k_codes(const float* x, int nmax, uint16_t* d16, uint16_t* dmin16, uint8_t* scales,
                      uint8_t* q) {
  ScaleMin sm[8];
  for (int j = 0; j < 8; ++j) sm[j] = fit_scale_min(x + 32 * j, 32, nmax);
  uint8_t sc[8], mn[8];
  pack_k_scales(sm, d16, dmin16, scales, sc, mn);
  const float d = fp16_to_f32(*d16), dmin = fp16_to_f32(*dmin16);
  for (int j = 0; j < 8; ++j) {
    const float s = d * sc[j], m = dmin * mn[j];
    for (int l = 0; l < 32; ++l) {
      const float v = x[32 * j + l];
      q[32 * j + l] =
          s > 0 ? static_cast<uint8_t>(std::clamp(round_even((v + m) / s), 0, nmax)) : 0;
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
  uint8_t q[kQKK];
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    quantize_k_codes(x, 15, &y[i].d, &y[i].dmin, y[i].scales, q);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
      }
    }
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
  uint8_t q[kQKK];
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    quantize_k_codes(x, 31, &y[i].d, &y[i].dmin, y[i].scales, q);
    std::memset(y[i].qh, 0, sizeof y[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int a = q[64 * c + l], b = q[64 * c + 32 + l];
        y[i].qs[32 * c + l] = static_cast<uint8_t>((a & 0xF) | ((b & 0xF) << 4));
        y[i].qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
      }
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float s[16], max_abs = 0.0f;
    for (int j = 0; j < 16; ++j) {
      s[j] = fit_symmetric(x + 16 * j, 16, -32, 31);
      max_abs = std::max(max_abs, std::fabs(s[j]));
    }
    y[i].d = f32_to_fp16(max_abs / 127.0f);
    const float d = fp16_to_f32(y[i].d);
    uint8_t q[kQKK];
    for (int j = 0; j < 16; ++j) {
      y[i].scales[j] = d > 0 ? static_cast<int8_t>(std::clamp(round_even(s[j] / d), -127, 127)) : 0;
      const float eff = d * y[i].scales[j];
      for (int l = 0; l < 16; ++l) {
        const int v = eff != 0.0f ? std::clamp(round_even(x[16 * j + l] / eff), -32, 31) : 0;
        q[16 * j + l] = static_cast<uint8_t>(v + 32);
      }
    }
    for (int h = 0; h < 2; ++h) {
      const uint8_t* qq = q + 128 * h;
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = qq[l], q2 = qq[l + 32], q3 = qq[l + 64], q4 = qq[l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                     ((q4 >> 4) << 6));
      }
    }
  }
}

// Q4_0 (bias 8, 4 bits) and Q5_0 (bias 16, 5 bits): one symmetric scale per 32 values.
void quantize_small_block(const float* x, int bias, uint16_t* d16, uint8_t* q) {
  const float s = fit_symmetric(x, kQK, -bias, bias - 1);
  *d16 = f32_to_fp16(s);
  const float d = fp16_to_f32(*d16);
  for (int j = 0; j < kQK; ++j) {
    const int v = d != 0.0f ? std::clamp(round_even(x[j] / d), -bias, bias - 1) : 0;
    q[j] = static_cast<uint8_t>(v + bias);
  }
}

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  uint8_t q[kQK];
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    quantize_small_block(x, 8, &y[i].d, q);
    for (int j = 0; j < kQK / 2; ++j) y[i].qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
  uint8_t q[kQK];
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    quantize_small_block(x, 16, &y[i].d, q);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      y[i].qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
      qh |= static_cast<uint32_t>(q[j] >> 4) << j;
      qh |= static_cast<uint32_t>(q[j + 16] >> 4) << (j + 16);
    }
    std::memcpy(y[i].qh, &qh, sizeof qh);
  }
}

}  // namespace

// Every type with a decoder has an encoder: one list (can_dequantize) serves both.
bool can_quantize(TensorType type) { return can_dequantize(type); }

void quantize_row(TensorType type, const float* src, void* dst, int64_t n) {
  if (n <= 0 || !can_quantize(type) || n % traits_of(type).block_elements != 0) return;
  if (src == nullptr || dst == nullptr) return;
  const int64_t nb = n / traits_of(type).block_elements;
  switch (type) {
    case TensorType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_fp16(src[i]);
      return;
    }
    case TensorType::kBF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
      return;
    }
    case TensorType::kQ4_0:
      return quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case TensorType::kQ5_0:
      return quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), nb);
    case TensorType::kQ8_0:
      return quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case TensorType::kQ4_K:
      return quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), nb);
    case TensorType::kQ5_K:
      return quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), nb);
    case TensorType::kQ6_K:
      return quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), nb);
    case TensorType::kQ8_K:
      return quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), nb);
    default:
      return;
  }
}

}  // namespace cmdai
