#include "device/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/fp16.h"

namespace cmdai::cpu {
namespace {

// Elementwise work below this many values runs on the calling thread: waking the pool costs more.
constexpr int64_t kElementwiseGrain = 16384;

inline float round_f16(float x) { return fp16_to_f32(f32_to_fp16(x)); }

// Converts one cached row segment (f16 bits or f32) to float.
inline void load_row(const void* base, bool f16, int64_t offset, int64_t n, float* dst) {
  if (f16) {
    const uint16_t* src = static_cast<const uint16_t*>(base) + offset;
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
  } else {
    const float* src = static_cast<const float*>(base) + offset;
    std::copy(src, src + n, dst);
  }
}

// cos/sin of the angle of every rotating pair at one position.
void rope_angles(int32_t pos, const RopeParams& p, float* cos_out, float* sin_out) {
  const int64_t n_pairs = p.n_rot / 2;
  if (p.exact) {
    for (int64_t i = 0; i < n_pairs; ++i) {
      const double theta =
          pos * std::pow(static_cast<double>(p.freq_base), -2.0 * i / static_cast<double>(p.n_rot));
      cos_out[i] = static_cast<float>(std::cos(theta));
      sin_out[i] = static_cast<float>(std::sin(theta));
    }
    return;
  }
  // ggml builds the angles by repeated float multiplication; matching it keeps the fast path's
  // rounding close to llama.cpp's.
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int64_t i = 0; i < n_pairs; ++i) {
    cos_out[i] = std::cos(theta);
    sin_out[i] = std::sin(theta);
    theta *= theta_scale;
  }
}

void rope_head(float* head, const RopeParams& p, const float* cos_a, const float* sin_a) {
  const int64_t n_pairs = p.n_rot / 2;
  for (int64_t i = 0; i < n_pairs; ++i) {
    // kNormal pairs neighbours; kNeox pairs element i with its twin in the second half.
    const int64_t a = p.mode == RopeMode::kNormal ? 2 * i : i;
    const int64_t b = p.mode == RopeMode::kNormal ? 2 * i + 1 : i + n_pairs;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * cos_a[i] - x1 * sin_a[i];
    head[b] = x0 * sin_a[i] + x1 * cos_a[i];
  }
}

// Attention of one query head at one position; scratch holds n_keys scores plus head_dim values.
template <typename Acc>
void attend_one(const float* q_head, int64_t n_keys, int64_t kv_offset, int64_t kv_stride,
                const KvLayerView& kv, const AttentionParams& p, float* out_head,
                std::vector<float>& scratch, std::vector<Acc>& acc) {
  const int64_t hd = p.head_dim;
  scratch.resize(static_cast<size_t>(n_keys + 2 * hd));
  float* scores = scratch.data();
  float* q = scores + n_keys;
  float* row = q + hd;
  for (int64_t d = 0; d < hd; ++d) q[d] = p.round_to_f16 ? round_f16(q_head[d]) : q_head[d];

  for (int64_t j = 0; j < n_keys; ++j) {
    load_row(kv.k, kv.f16, j * kv_stride + kv_offset, hd, row);
    Acc dot = 0;
    for (int64_t d = 0; d < hd; ++d) dot += static_cast<Acc>(q[d]) * row[d];
    scores[j] = static_cast<float>(dot) * p.scale;
  }
  softmax(scores, n_keys);
  if (p.round_to_f16) {
    for (int64_t j = 0; j < n_keys; ++j) scores[j] = round_f16(scores[j]);
  }

  acc.assign(static_cast<size_t>(hd), Acc(0));
  for (int64_t j = 0; j < n_keys; ++j) {
    load_row(kv.v, kv.f16, j * kv_stride + kv_offset, hd, row);
    const Acc weight = scores[j];
    for (int64_t d = 0; d < hd; ++d) acc[d] += weight * row[d];
  }
  for (int64_t d = 0; d < hd; ++d) out_head[d] = static_cast<float>(acc[d]);
}

}  // namespace

void rms_norm(const float* x, const float* weight, int64_t n_tokens, int64_t dim, float eps,
              float* y, ThreadPool& pool) {
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* xr = x + t * dim;
      float* yr = y + t * dim;
      double sum_sq = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
      const float mean = static_cast<float>(sum_sq / static_cast<double>(dim));
      const float scale = 1.0f / std::sqrt(mean + eps);
      for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] * scale) * weight[i];
    }
  };
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(dim, 1));
  pool.parallel_for(n_tokens, rows, grain);
}

void rope(float* x, int64_t n_tokens, int32_t pos0, const RopeParams& p, ThreadPool& pool) {
  const int64_t row_size = p.n_heads * p.head_dim;
  auto rows = [&](int64_t begin, int64_t end) {
    std::vector<float> cos_a(static_cast<size_t>(p.n_rot / 2));
    std::vector<float> sin_a(static_cast<size_t>(p.n_rot / 2));
    for (int64_t t = begin; t < end; ++t) {
      rope_angles(pos0 + static_cast<int32_t>(t), p, cos_a.data(), sin_a.data());
      for (int64_t h = 0; h < p.n_heads; ++h) {
        rope_head(x + t * row_size + h * p.head_dim, p, cos_a.data(), sin_a.data());
      }
    }
  };
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row_size, 1));
  pool.parallel_for(n_tokens, rows, grain);
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float max_value = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv_sum;
}

void swiglu(const float* gate, const float* up, int64_t n, float* out, ThreadPool& pool) {
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float g = gate[i];
          out[i] = g / (1.0f + std::exp(-g)) * up[i];
        }
      },
      kElementwiseGrain);
}

void add_inplace(float* x, const float* y, int64_t n, ThreadPool& pool) {
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) x[i] += y[i];
      },
      kElementwiseGrain);
}

void add_bias(float* x, const float* bias, int64_t n_tokens, int64_t dim) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    float* row = x + t * dim;
    for (int64_t i = 0; i < dim; ++i) row[i] += bias[i];
  }
}

void causal_attention(const float* q, int64_t n_tokens, const KvLayerView& kv,
                      const AttentionParams& p, float* out, ThreadPool& pool) {
  const int64_t q_stride = p.n_heads * p.head_dim;
  const int64_t kv_stride = p.n_kv_heads * p.head_dim;
  const int64_t group = p.n_heads / p.n_kv_heads;
  auto items = [&](int64_t begin, int64_t end) {
    // Reused across items and calls: attention allocates only when the context grows.
    thread_local std::vector<float> scratch;
    thread_local std::vector<float> acc_f;
    thread_local std::vector<double> acc_d;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / p.n_heads;
      const int64_t h = item % p.n_heads;
      const int64_t n_keys = p.pos0 + t + 1;
      const int64_t kv_offset = (h / group) * p.head_dim;
      const float* q_head = q + t * q_stride + h * p.head_dim;
      float* out_head = out + t * q_stride + h * p.head_dim;
      if (p.round_to_f16) {
        attend_one<float>(q_head, n_keys, kv_offset, kv_stride, kv, p, out_head, scratch, acc_f);
      } else {
        attend_one<double>(q_head, n_keys, kv_offset, kv_stride, kv, p, out_head, scratch, acc_d);
      }
    }
  };
  pool.parallel_for(n_tokens * p.n_heads, items, 1);
}

}  // namespace cmdai::cpu
