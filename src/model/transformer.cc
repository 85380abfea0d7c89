#include "model/transformer.h"

#include <algorithm>
#include <cmath>

namespace cmdai::model {

void Transformer::attention_block(const Pass& pass, int64_t layer, cpu::RopeMode rope_mode) {
  const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  ThreadPool& pool = *pass.pool;
  const int64_t n = pass.n_tokens;
  const cpu::MatmulPrecision mp = matmul_precision();

  cpu::rms_norm(a_.x.data(), w.attn_norm, n, hp_.hidden_dim, hp_.rms_eps, a_.xn.data(), pool);
  const cpu::MatmulOutput qkv[] = {{&w.attn_q, a_.q.data()},   // [n, q_dim]
                                    {&w.attn_k, a_.k.data()},   // [n, kv_dim]
                                    {&w.attn_v, a_.v.data()}};  // [n, kv_dim]
  cpu::matmul_shared_input(qkv, a_.xn.data(), n, pool, mp);
  if (w.attn_q_bias) cpu::add_bias(a_.q.data(), w.attn_q_bias, n, hp_.q_dim());
  if (w.attn_k_bias) cpu::add_bias(a_.k.data(), w.attn_k_bias, n, hp_.kv_dim());
  if (w.attn_v_bias) cpu::add_bias(a_.v.data(), w.attn_v_bias, n, hp_.kv_dim());

  cpu::RopeParams rope{hp_.n_heads,        hp_.head_dim, hp_.n_rot,
                       hp_.rope_freq_base, rope_mode,    precision_ == Precision::kExact};
  cpu::rope(a_.q.data(), n, pass.pos0, rope, pool);
  rope.n_heads = hp_.n_kv_heads;
  cpu::rope(a_.k.data(), n, pass.pos0, rope, pool);
  pass.cache->store(layer, pass.pos0, n, a_.k.data(), a_.v.data());

  cpu::AttentionParams attention;
  attention.n_heads = hp_.n_heads;
  attention.n_kv_heads = hp_.n_kv_heads;
  attention.head_dim = hp_.head_dim;
  attention.pos0 = pass.pos0;
  attention.scale = 1.0f / std::sqrt(static_cast<float>(hp_.head_dim));
  attention.round_to_f16 = precision_ == Precision::kFast;
  cpu::causal_attention(a_.q.data(), n, pass.cache->layer(layer), attention, a_.attn.data(),
                        pool);  // [n, q_dim]

  cpu::matmul(w.attn_output, a_.attn.data(), n, a_.proj.data(), pool, mp);  // [n, hidden_dim]
  cpu::add_inplace(a_.x.data(), a_.proj.data(), n * hp_.hidden_dim, pool);
}

void Transformer::ffn_block(const Pass& pass, int64_t layer, int64_t n_rows) {
  const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  ThreadPool& pool = *pass.pool;
  const cpu::MatmulPrecision mp = matmul_precision();

  cpu::rms_norm(a_.x.data(), w.ffn_norm, n_rows, hp_.hidden_dim, hp_.rms_eps, a_.xn.data(), pool);
  const cpu::MatmulOutput gate_up[] = {{&w.ffn_gate, a_.gate.data()},  // [n, ffn_dim]
                                        {&w.ffn_up, a_.up.data()}};     // [n, ffn_dim]
  cpu::matmul_shared_input(gate_up, a_.xn.data(), n_rows, pool, mp);
  cpu::swiglu(a_.gate.data(), a_.up.data(), n_rows * hp_.ffn_dim, a_.gate.data(), pool);
  cpu::matmul(w.ffn_down, a_.gate.data(), n_rows, a_.proj.data(), pool, mp);  // [n, hidden_dim]
  cpu::add_inplace(a_.x.data(), a_.proj.data(), n_rows * hp_.hidden_dim, pool);
}

int64_t Transformer::keep_output_rows(const Pass& pass) {
  if (!pass.last_row_only || pass.n_tokens == 1) return pass.n_tokens;
  const float* last = a_.x.data() + (pass.n_tokens - 1) * hp_.hidden_dim;
  std::copy(last, last + hp_.hidden_dim, a_.x.data());
  return 1;
}

}  // namespace cmdai::model
