#include "model/model.h"

#include <algorithm>

#include "model/transformer.h"

namespace cmdai::model {

void Activations::reserve(const HParams& hp, int64_t n_tokens) {
  if (n_tokens <= capacity) return;
  auto grow = [&](std::vector<float>& buffer, int64_t row) {
    buffer.resize(static_cast<size_t>(n_tokens * row));
  };
  grow(x, hp.hidden_dim);
  grow(xn, hp.hidden_dim);
  grow(q, hp.q_dim());
  grow(k, hp.kv_dim());
  grow(v, hp.kv_dim());
  grow(attn, hp.q_dim());
  grow(proj, hp.hidden_dim);
  grow(gate, hp.ffn_dim);
  grow(up, hp.ffn_dim);
  capacity = n_tokens;
}

Result<std::unique_ptr<Model>> Model::load(const gguf::GgufFile& file) {
  CMDAI_ASSIGN_OR_RETURN(HParams hp, read_hparams(file));
  BindOptions options;
  options.require_qkv_bias = hp.arch == Architecture::kQwen2;
  CMDAI_ASSIGN_OR_RETURN(Weights weights, bind_weights(file, hp, options));
  switch (hp.arch) {
    case Architecture::kQwen2:
      return make_qwen2_model(std::move(hp), std::move(weights));
    case Architecture::kLlama:
      return make_llama_model(std::move(hp), std::move(weights));
  }
  return make_error(ErrorCode::kInternal, "unhandled architecture {}", hp.arch_name);
}

Result<KvCache> Model::make_cache(int64_t n_ctx) const {
  return KvCache::create(hp_.n_layers, n_ctx, hp_.kv_dim(), kv_type());
}

Status Model::check_request(std::span<const int32_t> tokens, int32_t pos,
                            const KvCache& cache) const {
  if (tokens.empty()) return make_error(ErrorCode::kInvalidArgument, "forward: no tokens given");
  if (cache.n_layers() != hp_.n_layers || cache.kv_dim() != hp_.kv_dim()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward: KV cache shaped for {} layers x {} does not fit this model "
                      "({} layers x {})",
                      cache.n_layers(), cache.kv_dim(), hp_.n_layers, hp_.kv_dim());
  }
  if (pos < 0 || pos > cache.n_filled()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward: position {} would leave a gap after the {} cached positions", pos,
                      cache.n_filled());
  }
  if (pos + static_cast<int64_t>(tokens.size()) > cache.n_ctx()) {
    return make_error(ErrorCode::kResourceExhausted,
                      "context full: {} cached + {} new tokens exceed the context of {}", pos,
                      tokens.size(), cache.n_ctx());
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= hp_.vocab_size) {
      return make_error(ErrorCode::kInvalidArgument,
                        "forward: token id {} at index {} is outside the vocabulary [0, {})",
                        tokens[i], i, hp_.vocab_size);
    }
  }
  return ok_status();
}

Status Model::forward(std::span<const int32_t> tokens, int32_t pos, KvCache& cache,
                      LogitsRequest request, float* logits, ThreadPool& pool) {
  CMDAI_TRY(check_request(tokens, pos, cache));
  // Long prompts run in slices so activation memory stays bounded; every row's math is the same
  // whatever the slicing, because attention reads earlier slices back from the cache.
  const size_t n = tokens.size();
  for (size_t begin = 0; begin < n; begin += kMaxBatchTokens) {
    const size_t count = std::min(kMaxBatchTokens, n - begin);
    const bool last_slice = begin + count == n;
    if (request == LogitsRequest::kAllRows) {
      run_batch(tokens.subspan(begin, count), pos + static_cast<int32_t>(begin), cache, false,
                logits + begin * static_cast<size_t>(hp_.vocab_size), pool);
    } else {
      run_batch(tokens.subspan(begin, count), pos + static_cast<int32_t>(begin), cache, true,
                last_slice ? logits : nullptr, pool);
    }
  }
  return ok_status();
}

void Model::run_batch(std::span<const int32_t> tokens, int32_t pos, KvCache& cache,
                      bool last_row_only, float* logits, ThreadPool& pool) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  a_.reserve(hp_, n);
  for (int64_t t = 0; t < n; ++t) {
    embedding_row(weights_.token_embd, tokens[t], a_.x.data() + t * hp_.hidden_dim);
  }

  Pass pass;
  pass.pos0 = pos;
  pass.n_tokens = n;
  pass.last_row_only = last_row_only;
  pass.cache = &cache;
  pass.pool = &pool;
  run_layers(pass);
  cache.set_filled(pos + static_cast<int32_t>(n));
  if (logits == nullptr) return;

  // run_layers leaves the rows whose logits are wanted at the front of x.
  const int64_t n_out = last_row_only ? 1 : n;
  cpu::rms_norm(a_.x.data(), weights_.output_norm, n_out, hp_.hidden_dim, hp_.rms_eps, a_.xn.data(),
                pool);
  cpu::matmul(weights_.output, a_.xn.data(), n_out, logits, pool, matmul_precision());
}

}  // namespace cmdai::model
