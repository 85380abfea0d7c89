// For the MLX device's tests: a small pre-norm decoder spec with q8_0 matrices and random weights,
// the bytes owned by the object (no GGUF file needed).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "device/device.h"
#include "quant/quantize.h"

namespace cmdai::mlx_device {

struct TinySpecOptions {
  int64_t n_layers = 1;
  int64_t n_heads = 2;
  int64_t n_kv_heads = 1;
  int64_t context_length = 0;
  bool qkv_bias = false;  // qwen2's q/k/v biases
  device::RopeStyle rope_style = device::RopeStyle::kAdjacentPairs;
};

// hidden_dim 64, head_dim 32, ffn_dim 128, vocab_size 96, tied output; weights from `seed`.
class TinySpec {
 public:
  explicit TinySpec(uint32_t seed, const TinySpecOptions& options = {}) {
    device::TransformerShape& s = spec.shape;
    s = {options.n_layers, 64, options.n_heads, options.n_kv_heads, 32, 128, 96, 32};
    s.context_length = options.context_length;
    spec.rope_style = options.rope_style;
    std::mt19937 rng(seed);
    norm_.assign(64, 1.0f);
    spec.output_norm = norm_.data();
    for (int64_t l = 0; l < s.n_layers; ++l) {
      device::LayerTensors layer;
      layer.attn_norm = layer.ffn_norm = norm_.data();
      layer.attn_q = matrix(s.q_dim(), 64, rng);
      layer.attn_k = matrix(s.kv_dim(), 64, rng);
      layer.attn_v = matrix(s.kv_dim(), 64, rng);
      layer.attn_output = matrix(64, s.q_dim(), rng);
      layer.ffn_gate = matrix(128, 64, rng);
      layer.ffn_up = matrix(128, 64, rng);
      layer.ffn_down = matrix(64, 128, rng);
      if (options.qkv_bias) {
        layer.attn_q_bias = vector(s.q_dim(), rng);
        layer.attn_k_bias = vector(s.kv_dim(), rng);
        layer.attn_v_bias = vector(s.kv_dim(), rng);
      }
      spec.layers.push_back(layer);
    }
    spec.token_embd = spec.output = matrix(96, 64, rng);
    spec.tied_output = true;
  }
  device::ModelSpec spec;

 private:
  device::WeightMatrix matrix(int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 0.1f);
    const size_t row_size = *row_bytes(TensorType::kQ8_0, cols);
    auto& bytes = storage_.emplace_back(row_size * static_cast<size_t>(rows));
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& x : row) x = normal(rng);
      quantize_row(TensorType::kQ8_0, row.data(), bytes.data() + r * row_size, cols);
    }
    return {TensorType::kQ8_0, rows, cols, bytes.data(), row_size};
  }
  const float* vector(int64_t n, std::mt19937& rng) {
    std::normal_distribution<float> normal(0.0f, 0.1f);
    auto& values = vectors_.emplace_back(static_cast<size_t>(n));
    for (auto& x : values) x = normal(rng);
    return values.data();
  }
  std::vector<float> norm_;
  std::deque<std::vector<uint8_t>> storage_;
  std::deque<std::vector<float>> vectors_;
};

}  // namespace cmdai::mlx_device
