#include "device/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "device/cpu/ops_kernels.h"

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

// Every half converted once: a 256 KiB table beats the bit-twiddling conversion in inner loops.
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = fp16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table.data();
}

float dot_f16_scalar(const float* x, const uint16_t* y, int64_t n) {
  const float* table = f16_table();
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * table[y[i]];
  return sum;
}

void axpy_f16_scalar(float a, const uint16_t* x, float* y, int64_t n) {
  const float* table = f16_table();
  for (int64_t i = 0; i < n; ++i) y[i] += a * table[x[i]];
}

// Where one query row meets the cache: n_keys rows of K and V for one kv head.
struct HeadSlice {
  const float* q;  // [head_dim]
  int64_t n_keys;
  int64_t kv_offset;  // of this kv head inside a cache row
  int64_t kv_stride;  // elements per cache row
  float* out;         // [head_dim]
};

// ggml's CPU path: q and probabilities rounded to f16, float accumulation.
void attend_fast(const HeadSlice& s, const KvLayerView& kv, const AttentionParams& p,
                 const AttentionKernels& kernels, std::vector<float>& scratch) {
  const int64_t hd = p.head_dim;
  scratch.resize(static_cast<size_t>(s.n_keys + hd));
  float* scores = scratch.data();
  float* q = scores + s.n_keys;
  for (int64_t d = 0; d < hd; ++d) q[d] = round_f16(s.q[d]);
  const auto* k16 = static_cast<const uint16_t*>(kv.k) + s.kv_offset;
  const auto* v16 = static_cast<const uint16_t*>(kv.v) + s.kv_offset;
  const auto* k32 = static_cast<const float*>(kv.k) + s.kv_offset;
  const auto* v32 = static_cast<const float*>(kv.v) + s.kv_offset;

  for (int64_t j = 0; j < s.n_keys; ++j) {
    float dot = 0.0f;
    if (kv.f16) {
      dot = kernels.dot_f16(q, k16 + j * s.kv_stride, hd);
    } else {
      for (int64_t d = 0; d < hd; ++d) dot += q[d] * k32[j * s.kv_stride + d];
    }
    scores[j] = dot * p.scale;
  }
  softmax(scores, s.n_keys);

  std::fill(s.out, s.out + hd, 0.0f);
  for (int64_t j = 0; j < s.n_keys; ++j) {
    const float weight = round_f16(scores[j]);
    if (kv.f16) {
      kernels.axpy_f16(weight, v16 + j * s.kv_stride, s.out, hd);
    } else {
      for (int64_t d = 0; d < hd; ++d) s.out[d] += weight * v32[j * s.kv_stride + d];
    }
  }
}

void round_to_f16(const AttentionKernels& kernels, const float* x, int64_t n, float* out) {
  if (kernels.round_to_f16 != nullptr) return kernels.round_to_f16(x, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = round_f16(x[i]);
}

// attend_fast for the query heads h0 .. h0 + g - 1 of one token, which share one f16 kv head:
// the same arithmetic per head (q and probabilities rounded to f16, dot_f16 / axpy_f16 sums),
// through the table's grouped kernels, which convert each cached row once for all g heads.
void attend_fast_group(const HeadSlice& first, int64_t g, int64_t q_head_stride,
                       const KvLayerView& kv, const AttentionParams& p,
                       const AttentionKernels& kernels, std::vector<float>& scratch) {
  const int64_t hd = p.head_dim, n_keys = first.n_keys;
  scratch.resize(static_cast<size_t>(g * (n_keys + hd)));
  float* scores[kMaxHeadGroup];
  float* q[kMaxHeadGroup];
  float* out[kMaxHeadGroup];
  const auto* k16 = static_cast<const uint16_t*>(kv.k) + first.kv_offset;
  const auto* v16 = static_cast<const uint16_t*>(kv.v) + first.kv_offset;
  for (int64_t h0 = 0; h0 < g; h0 += kMaxHeadGroup) {
    const int n = static_cast<int>(std::min<int64_t>(kMaxHeadGroup, g - h0));
    for (int h = 0; h < n; ++h) {
      scores[h] = scratch.data() + (h0 + h) * (n_keys + hd);
      q[h] = scores[h] + n_keys;
      out[h] = first.out + (h0 + h) * q_head_stride;
      round_to_f16(kernels, first.q + (h0 + h) * q_head_stride, hd, q[h]);
    }
    kernels.scores_f16(q, n, k16, first.kv_stride, n_keys, hd, p.scale, scores);
    for (int h = 0; h < n; ++h) {
      softmax(scores[h], n_keys);
      round_to_f16(kernels, scores[h], n_keys, scores[h]);
    }
    kernels.weighted_sum_f16(scores, n, v16, first.kv_stride, n_keys, hd, out);
  }
}

// The reference: no rounding, double accumulation.
void attend_exact(const HeadSlice& s, const KvLayerView& kv, const AttentionParams& p,
                  std::vector<float>& scratch, std::vector<double>& acc) {
  const int64_t hd = p.head_dim;
  scratch.resize(static_cast<size_t>(s.n_keys + hd));
  float* scores = scratch.data();
  float* row = scores + s.n_keys;
  for (int64_t j = 0; j < s.n_keys; ++j) {
    load_row(kv.k, kv.f16, j * s.kv_stride + s.kv_offset, hd, row);
    double dot = 0.0;
    for (int64_t d = 0; d < hd; ++d) dot += static_cast<double>(s.q[d]) * row[d];
    scores[j] = static_cast<float>(dot) * p.scale;
  }
  softmax(scores, s.n_keys);
  acc.assign(static_cast<size_t>(hd), 0.0);
  for (int64_t j = 0; j < s.n_keys; ++j) {
    load_row(kv.v, kv.f16, j * s.kv_stride + s.kv_offset, hd, row);
    for (int64_t d = 0; d < hd; ++d) acc[d] += static_cast<double>(scores[j]) * row[d];
  }
  for (int64_t d = 0; d < hd; ++d) s.out[d] = static_cast<float>(acc[d]);
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
    thread_local std::vector<float> cos_a, sin_a;  // reused: no allocation per call
    cos_a.resize(static_cast<size_t>(p.n_rot / 2));
    sin_a.resize(static_cast<size_t>(p.n_rot / 2));
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
  const auto vectorized = best_attention_kernels().swiglu;
  pool.parallel_for(
      n,
      [&](int64_t begin, int64_t end) {
        if (vectorized != nullptr) {
          vectorized(gate + begin, up + begin, end - begin, out + begin);
          return;
        }
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

const AttentionKernels& scalar_attention_kernels() {
  static const AttentionKernels kernels{"scalar", dot_f16_scalar, axpy_f16_scalar};
  return kernels;
}

std::vector<const AttentionKernels*> available_attention_kernels() {
  std::vector<const AttentionKernels*> sets = {&scalar_attention_kernels()};
#if defined(__x86_64__)
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma && f.f16c) sets.push_back(&avx2_attention_kernels());
#endif
#if defined(__aarch64__)
  if (cpu_features().neon) sets.push_back(&neon_attention_kernels());
#endif
  return sets;
}

const AttentionKernels& best_attention_kernels() {
  static const AttentionKernels* best = available_attention_kernels().back();
  return *best;
}

void causal_attention(const float* q, int64_t n_tokens, const KvLayerView& kv,
                      const AttentionParams& p, float* out, ThreadPool& pool) {
  causal_attention_with(best_attention_kernels(), q, n_tokens, kv, p, out, pool);
}

void causal_attention_with(const AttentionKernels& kernels, const float* q, int64_t n_tokens,
                           const KvLayerView& kv, const AttentionParams& p, float* out,
                           ThreadPool& pool) {
  const int64_t q_stride = p.n_heads * p.head_dim;
  const int64_t group = p.n_heads / p.n_kv_heads;
  // With an f16 cache and grouped kernels, one item is a token's heads that share a kv head.
  const bool grouped = p.round_to_f16 && kv.f16 && kernels.scores_f16 != nullptr &&
                       kernels.weighted_sum_f16 != nullptr && p.head_dim % 16 == 0;
  const int64_t heads_per_item = grouped ? group : 1;
  const int64_t items_per_token = p.n_heads / heads_per_item;
  const int64_t n_items = n_tokens * items_per_token;
  // Later rows attend to more keys, so items are dealt out round-robin rather than in contiguous
  // ranges: every thread gets a similar mix of short and long rows.
  const int n_threads = static_cast<int>(std::min<int64_t>(pool.size(), n_items));
  auto worker = [&](int thread_index) {
    // Reused across items and calls: attention allocates only when the context grows.
    thread_local std::vector<float> scratch;
    thread_local std::vector<double> acc;
    for (int64_t item = thread_index; item < n_items; item += n_threads) {
      const int64_t t = item / items_per_token;
      const int64_t h = item % items_per_token * heads_per_item;
      HeadSlice slice;
      slice.q = q + t * q_stride + h * p.head_dim;
      slice.n_keys = p.pos0 + t + 1;
      slice.kv_offset = (h / group) * p.head_dim;
      slice.kv_stride = p.n_kv_heads * p.head_dim;
      slice.out = out + t * q_stride + h * p.head_dim;
      if (grouped) {
        attend_fast_group(slice, group, p.head_dim, kv, p, kernels, scratch);
      } else if (p.round_to_f16) {
        attend_fast(slice, kv, p, kernels, scratch);
      } else {
        attend_exact(slice, kv, p, scratch, acc);
      }
    }
  };
  if (n_threads <= 1) {
    worker(0);
  } else {
    pool.run([&](int thread_index) {
      if (thread_index < n_threads) worker(thread_index);
    });
  }
}

}  // namespace cmdai::cpu
