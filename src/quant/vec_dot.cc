#include "quant/vec_dot.h"

#include <cstring>
#include <limits>

#include "base/fp16.h"
#include "quant/blocks.h"

// The SIMD kernels reproduce these scalar sums bit for bit; that needs every multiply and add
// rounded separately even when the build targets a CPU with FMA.
#pragma GCC optimize("fp-contract=off")

namespace cmdai {
namespace {

float dot_q4_0(const BlockQ4_0* w, const BlockQ8_0* a, int64_t nb) {
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += ((w[i].qs[j] & 0xF) - 8) * a[i].qs[j];
      sumi += ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + kQK / 2];
    }
    sum += static_cast<float>(sumi) * (fp16_to_f32(w[i].d) * fp16_to_f32(a[i].d));
  }
  return sum;
}

float dot_q5_0(const BlockQ5_0* w, const BlockQ8_0* a, int64_t nb) {
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    uint32_t qh;
    std::memcpy(&qh, w[i].qh, sizeof qh);
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = ((w[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4)) - 16;
      const int hi = ((w[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4)) - 16;
      sumi += lo * a[i].qs[j] + hi * a[i].qs[j + kQK / 2];
    }
    sum += static_cast<float>(sumi) * (fp16_to_f32(w[i].d) * fp16_to_f32(a[i].d));
  }
  return sum;
}

float dot_q8_0(const BlockQ8_0* w, const BlockQ8_0* a, int64_t nb) {
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += w[i].qs[j] * a[i].qs[j];
    sum += static_cast<float>(sumi) * (fp16_to_f32(w[i].d) * fp16_to_f32(a[i].d));
  }
  return sum;
}

// Q4_K/Q5_K super-block: sum_j d*sc_j*(q.a)_j - dmin*m_j*(bsum pair j). qh == nullptr for Q4_K.
float dot_k4_k5_block(uint16_t d16, uint16_t dmin16, const uint8_t* scales, const uint8_t* qs,
                      const uint8_t* qh, const BlockQ8_K& a) {
  int sumi = 0, summ = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    k_scale_min(j, scales, &sc, &m);
    const int chunk = j / 2, shift = (j & 1) * 4, bit = 1 << j;
    int dot = 0;
    for (int l = 0; l < 32; ++l) {
      int q = (qs[32 * chunk + l] >> shift) & 0xF;
      if (qh != nullptr && (qh[l] & bit)) q += 16;
      dot += q * a.qs[32 * j + l];
    }
    sumi += sc * dot;
    summ += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  }
  const float d = fp16_to_f32(d16) * a.d;
  const float dmin = fp16_to_f32(dmin16) * a.d;
  return d * static_cast<float>(sumi) - dmin * static_cast<float>(summ);
}

float dot_q6_k(const BlockQ6_K* w, const BlockQ8_K* a, int64_t nb) {
  float sum = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    int sumi = 0;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = w[i].ql + 64 * h;
      const uint8_t* qh = w[i].qh + 32 * h;
      const int8_t* sc = w[i].scales + 8 * h;
      const int8_t* q8 = a[i].qs + 128 * h;
      int part[8] = {};  // one integer sum per sub-block of 16 in this half
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        part[is + 0] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * q8[l];
        part[is + 2] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * q8[l + 32];
        part[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * q8[l + 64];
        part[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * q8[l + 96];
      }
      for (int s = 0; s < 8; ++s) sumi += sc[s] * part[s];
    }
    sum += fp16_to_f32(w[i].d) * a[i].d * static_cast<float>(sumi);
  }
  return sum;
}

template <typename Convert>
float dot_halves(const uint16_t* w, const uint16_t* a, int64_t n, Convert convert) {
  double sum = 0.0;  // ggml's scalar path accumulates these in double too
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(convert(w[i]) * convert(a[i]));
  return static_cast<float>(sum);
}

float dot_f32(const float* w, const float* a, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i] * a[i]);
  return static_cast<float>(sum);
}

}  // namespace

TensorType activation_type_for(TensorType weight_type) {
  switch (weight_type) {
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return TensorType::kQ8_K;
    case TensorType::kQ4_0:
    case TensorType::kQ5_0:
    case TensorType::kQ8_0:
      return TensorType::kQ8_0;
    default:
      return weight_type;  // F32, F16, BF16 multiply in their own format
  }
}

bool has_vec_dot(TensorType weight_type) {
  switch (weight_type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ4_0:
    case TensorType::kQ5_0:
    case TensorType::kQ8_0:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
      return true;
    default:
      return false;
  }
}

float vec_dot(TensorType weight_type, int64_t n, const void* weight_row,
              const void* activation_row) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  if (!has_vec_dot(weight_type) || n < 0 || n % traits_of(weight_type).block_elements != 0) {
    return kNaN;
  }
  if (n == 0) return 0.0f;
  if (weight_row == nullptr || activation_row == nullptr) return kNaN;
  const int64_t nb = n / traits_of(weight_type).block_elements;
  const auto* q8_0 = static_cast<const BlockQ8_0*>(activation_row);
  const auto* q8_k = static_cast<const BlockQ8_K*>(activation_row);
  switch (weight_type) {
    case TensorType::kF32:
      return dot_f32(static_cast<const float*>(weight_row),
                     static_cast<const float*>(activation_row), n);
    case TensorType::kF16:
      return dot_halves(static_cast<const uint16_t*>(weight_row),
                        static_cast<const uint16_t*>(activation_row), n, fp16_to_f32);
    case TensorType::kBF16:
      return dot_halves(static_cast<const uint16_t*>(weight_row),
                        static_cast<const uint16_t*>(activation_row), n, bf16_to_f32);
    case TensorType::kQ4_0:
      return dot_q4_0(static_cast<const BlockQ4_0*>(weight_row), q8_0, nb);
    case TensorType::kQ5_0:
      return dot_q5_0(static_cast<const BlockQ5_0*>(weight_row), q8_0, nb);
    case TensorType::kQ8_0:
      return dot_q8_0(static_cast<const BlockQ8_0*>(weight_row), q8_0, nb);
    case TensorType::kQ4_K: {
      const auto* w = static_cast<const BlockQ4_K*>(weight_row);
      float sum = 0.0f;
      for (int64_t i = 0; i < nb; ++i)
        sum += dot_k4_k5_block(w[i].d, w[i].dmin, w[i].scales, w[i].qs, nullptr, q8_k[i]);
      return sum;
    }
    case TensorType::kQ5_K: {
      const auto* w = static_cast<const BlockQ5_K*>(weight_row);
      float sum = 0.0f;
      for (int64_t i = 0; i < nb; ++i)
        sum += dot_k4_k5_block(w[i].d, w[i].dmin, w[i].scales, w[i].qs, w[i].qh, q8_k[i]);
      return sum;
    }
    case TensorType::kQ6_K:
      return dot_q6_k(static_cast<const BlockQ6_K*>(weight_row), q8_k, nb);
    default:
      return kNaN;
  }
}

}  // namespace cmdai
