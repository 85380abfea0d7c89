// The pre-norm decoder layer shared by llama and qwen2: the blocks each architecture file
// composes (attention with RoPE and grouped-query heads, SwiGLU feed-forward).
#pragma once

#include <memory>

#include "device/cpu/ops.h"
#include "model/model.h"

namespace cmdai::model {

class Transformer : public Model {
 protected:
  using Model::Model;

  // x += W_o · attention(rope(W_q·n + b_q), rope(W_k·n + b_k), W_v·n + b_v), n = rms_norm(x),
  // over all pass.n_tokens rows; the layer's keys and values land in the cache first.
  // Biases apply where the file has them.
  void attention_block(const Pass& pass, int64_t layer, cpu::RopeMode rope_mode);

  // x += W_down · (silu(W_gate·n) * (W_up·n)), n = rms_norm(x), over the first n_rows rows.
  void ffn_block(const Pass& pass, int64_t layer, int64_t n_rows);

  // Rows of the residual stream that still matter after the last attention block: all of them,
  // or only the last one (moved to row 0) when only its logits are wanted.
  int64_t keep_output_rows(const Pass& pass);
};

// One factory per architecture file.
std::unique_ptr<Model> make_llama_model(HParams hp, Weights weights);
std::unique_ptr<Model> make_qwen2_model(HParams hp, Weights weights);

}  // namespace cmdai::model
