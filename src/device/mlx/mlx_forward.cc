#include "device/mlx/mlx_forward.h"

#include <cmath>

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;
using device::ModelSpec;

// Grouped-query attention of one layer over the cache, the new keys and values written first.
// h: [1, n, hidden_dim] -> [1, n, q_dim]; k_cache, v_cache: [1, n_kv_heads, rows, head_dim].
mx::array attention(const ModelSpec& spec, const MlxLayer& layer, const mx::array& h,
                    const PassPositions& at, mx::array& k_cache, mx::array& v_cache) {
  const device::TransformerShape& s = spec.shape;
  const int n = h.shape(1), head_dim = static_cast<int>(s.head_dim);
  const auto project = [&](const MlxMatrix& m, const std::optional<mx::array>& bias, int heads) {
    mx::array y = linear(h, m);  // [1, n, heads * head_dim]
    if (bias) y = mx::add(y, *bias);
    return mx::transpose(mx::reshape(y, {1, n, heads, head_dim}), {0, 2, 1, 3});
  };
  // llama rotates adjacent pairs (MLX's "traditional"), qwen2 the two halves.
  const bool traditional = spec.rope_style == device::RopeStyle::kAdjacentPairs;
  const int n_rot = static_cast<int>(s.n_rot);
  const float base = s.rope_freq_base;
  mx::array q = project(layer.attn_q, layer.attn_q_bias, static_cast<int>(s.n_heads));
  mx::array k = project(layer.attn_k, layer.attn_k_bias, static_cast<int>(s.n_kv_heads));
  mx::array v = project(layer.attn_v, layer.attn_v_bias, static_cast<int>(s.n_kv_heads));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  mx::array o = q;
  if (at.pos_array) {
    // One token at an array position: dynamic update, the whole cache read through the mask.
    q = mx::fast::rope(q, n_rot, traditional, base, 1.0f, *at.pos_array);  // [1, n_heads, 1, hd]
    k = mx::fast::rope(k, n_rot, traditional, base, 1.0f, *at.pos_array);  // [1, n_kv, 1, hd]
    k_cache = mx::slice_update(k_cache, mx::astype(k, mx::float16), *at.pos_array, {2});
    v_cache = mx::slice_update(v_cache, mx::astype(v, mx::float16), *at.pos_array, {2});
    o = mx::fast::scaled_dot_product_attention(q, k_cache, v_cache, scale, "array", at.mask);
  } else {
    q = mx::fast::rope(q, n_rot, traditional, base, 1.0f, at.pos);  // [1, n_heads, n, hd]
    k = mx::fast::rope(k, n_rot, traditional, base, 1.0f, at.pos);  // [1, n_kv, n, hd]
    const int kv_heads = k_cache.shape(1), end = at.pos + n;
    const mx::Shape start = {0, 0, at.pos, 0}, stop = {1, kv_heads, end, head_dim};
    // The old array is held only by the update, so MLX writes into its buffer.
    k_cache = mx::slice_update(k_cache, mx::astype(k, mx::float16), start, stop);
    v_cache = mx::slice_update(v_cache, mx::astype(v, mx::float16), start, stop);
    const mx::Shape origin = {0, 0, 0, 0};
    // "causal" aligns the mask to the last query: query i sees keys 0 .. pos + i.
    o = mx::fast::scaled_dot_product_attention(q, mx::slice(k_cache, origin, stop),
                                               mx::slice(v_cache, origin, stop), scale,
                                               n > 1 ? "causal" : "");
  }
  return mx::reshape(mx::transpose(o, {0, 2, 1, 3}), {1, n, static_cast<int>(s.q_dim())});
}

}  // namespace

mx::array positions_written(const mx::array& pos_array, int rows) {
  return mx::reshape(mx::less_equal(mx::arange(0, rows), pos_array), {1, 1, 1, rows});
}

mx::array decoder_layers(const ModelSpec& spec, const MlxWeights& weights, mx::array x,
                         const PassPositions& at, std::vector<mx::array>& k,
                         std::vector<mx::array>& v) {
  const float eps = spec.shape.rms_eps;
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    const MlxLayer& layer = weights.layers[l];
    mx::array h = mx::fast::rms_norm(x, layer.attn_norm, eps);
    x = mx::add(x, linear(attention(spec, layer, h, at, k[l], v[l]), layer.attn_output));
    h = mx::fast::rms_norm(x, layer.ffn_norm, eps);
    const mx::array gate = linear(h, layer.ffn_gate);  // [1, n, ffn_dim]
    const mx::array up = linear(h, layer.ffn_up);
    const mx::array act = mx::multiply(mx::multiply(gate, mx::sigmoid(gate)), up);  // SwiGLU
    x = mx::add(x, linear(act, layer.ffn_down));
  }
  return x;
}

mx::array output_logits(const ModelSpec& spec, const MlxWeights& weights, const mx::array& x) {
  const mx::array h = mx::fast::rms_norm(x, weights.output_norm, spec.shape.rms_eps);
  return mx::astype(linear(h, weights.output), mx::float32);
}

}  // namespace cmdai::mlx_device
