// The non-matmul operations of a decoder-only transformer on the CPU: normalization, rotary
// position embedding, activations, and causal attention over a KV cache.
#pragma once

#include <cstdint>

#include "base/thread_pool.h"

namespace cmdai::cpu {

// y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight, for rows of `dim` values.
// The sum of squares is accumulated in double. y may alias x.
void rms_norm(const float* x, const float* weight, int64_t n_tokens, int64_t dim, float eps,
              float* y, ThreadPool& pool);

// Which elements RoPE rotates together.
enum class RopeMode {
  kNormal,  // adjacent pairs (2i, 2i+1): llama
  kNeox,    // halves (i, i + n_rot/2): qwen2, gpt-neox
};

struct RopeParams {
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  int64_t n_rot = 0;  // leading dimensions of each head that rotate; the rest pass through
  float freq_base = 10000.0f;
  RopeMode mode = RopeMode::kNormal;
  // false: angles built in float by repeated multiplication, as ggml does; true: in double.
  bool exact = false;
};

// Rotates x in place: x is [n_tokens, n_heads * head_dim] and row t sits at position pos0 + t.
// Pair i turns by angle pos * freq_base^(-2i / n_rot).
void rope(float* x, int64_t n_tokens, int32_t pos0, const RopeParams& params, ThreadPool& pool);

// In place over n values: exp(x - max) / sum, the sum accumulated in double.
void softmax(float* x, int64_t n);

// out = silu(gate) * up, elementwise over n values (the SwiGLU feed-forward's gating).
void swiglu(const float* gate, const float* up, int64_t n, float* out, ThreadPool& pool);

// x += y over n values.
void add_inplace(float* x, const float* y, int64_t n, ThreadPool& pool);

// x[t, :] += bias for every one of n_tokens rows of dim values.
void add_bias(float* x, const float* bias, int64_t n_tokens, int64_t dim);

// One layer's cached keys and values: each [n_ctx, n_kv_heads * head_dim], f16 bits or f32.
struct KvLayerView {
  const void* k = nullptr;
  const void* v = nullptr;
  bool f16 = true;
};

struct AttentionParams {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // n_heads / n_kv_heads query heads share one kv head
  int64_t head_dim = 0;
  int32_t pos0 = 0;    // query row t sits at pos0 + t and sees keys 0 ..= pos0 + t
  float scale = 1.0f;  // applied to q.k before the softmax
  // true: q and the softmax probabilities are rounded to f16 before meeting K and V, and dot
  // products accumulate in float (ggml's CPU path); false: no rounding, double accumulation.
  bool round_to_f16 = true;
};

// out[t, h * head_dim + d] = sum_j softmax_j(scale * q[t, h, :] . K[j, kvh, :]) * V[j, kvh, d].
// q and out are [n_tokens, n_heads * head_dim]; the cache must already hold the keys and values
// of positions 0 ..= pos0 + n_tokens - 1. Parallel over (token, head) pairs.
void causal_attention(const float* q, int64_t n_tokens, const KvLayerView& kv,
                      const AttentionParams& params, float* out, ThreadPool& pool);

}  // namespace cmdai::cpu
