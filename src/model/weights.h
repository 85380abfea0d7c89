// Every tensor of a decoder-only transformer bound by name to zero-copy views into the mapped
// GGUF file, each checked against the hyperparameters before the first forward pass.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "device/cpu/matmul.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace cmdai::model {

struct LayerWeights {
  const float* attn_norm = nullptr;    // [hidden_dim]
  cpu::WeightMatrix attn_q;            // [q_dim rows, hidden_dim cols]
  cpu::WeightMatrix attn_k;            // [kv_dim, hidden_dim]
  cpu::WeightMatrix attn_v;            // [kv_dim, hidden_dim]
  const float* attn_q_bias = nullptr;  // [q_dim], or null when the model has none
  const float* attn_k_bias = nullptr;  // [kv_dim]
  const float* attn_v_bias = nullptr;  // [kv_dim]
  cpu::WeightMatrix attn_output;       // [hidden_dim, q_dim]
  const float* ffn_norm = nullptr;     // [hidden_dim]
  cpu::WeightMatrix ffn_gate;          // [ffn_dim, hidden_dim]
  cpu::WeightMatrix ffn_up;            // [ffn_dim, hidden_dim]
  cpu::WeightMatrix ffn_down;          // [hidden_dim, ffn_dim]
};

struct Weights {
  cpu::WeightMatrix token_embd;        // [vocab_size, hidden_dim]
  const float* output_norm = nullptr;  // [hidden_dim]
  cpu::WeightMatrix output;            // [vocab_size, hidden_dim]; token_embd when tied
  bool tied_output = false;
  std::vector<LayerWeights> layers;
};

struct BindOptions {
  bool require_qkv_bias = false;  // qwen2 always has q/k/v biases; llama may have them
};

// Errors: kNotFound for a missing required tensor, kCorruptFile naming the tensor with the
// expected and actual shapes, kUnsupported naming a tensor whose type has no kernels.
Result<Weights> bind_weights(const gguf::GgufFile& file, const HParams& hp,
                             const BindOptions& options);

// Copies row `token` of the embedding table into dst as floats (dequantizing if needed).
void embedding_row(const cpu::WeightMatrix& table, int32_t token, float* dst);

}  // namespace cmdai::model
