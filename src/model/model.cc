#include "model/model.h"

#include <algorithm>

#include "gguf/fingerprint.h"
#include "model/architecture.h"
#include "model/kv_snapshot.h"
#include "model/weights.h"

namespace cmdai::model {

int64_t kv_context_for(int64_t n_prompt, int64_t max_new_tokens, int64_t context_length) {
  const int64_t wanted = std::max<int64_t>(1, n_prompt + std::max<int64_t>(0, max_new_tokens));
  return std::min(wanted, context_length);
}

Result<std::unique_ptr<Model>> Model::load(const gguf::GgufFile& file, device::Device& device) {
  auto read = read_hparams(file);
  if (!read.ok()) {
    // A key the architecture requires is missing: an unusable model file, as a missing tensor is.
    Error e = read.take_error();
    if (e.code == ErrorCode::kNotFound) e.code = ErrorCode::kCorruptFile;
    return e;
  }
  HParams hp = std::move(read).value();
  const ArchitectureTraits& traits = traits_of(hp.arch);
  std::unique_ptr<Model> model(new Model(hp, device));
  model->spec_.shape = hp;
  model->spec_.rope_style = traits.rope_style;
  BindOptions options;
  options.require_qkv_bias = traits.requires_qkv_bias;
  CMDAI_TRY(bind_weights(file, hp, options, &model->spec_));
  model->fingerprint_ = gguf::content_fingerprint(file);
  CMDAI_ASSIGN_OR_RETURN(model->weights_, device.load(model->spec_));
  return model;
}

Result<std::unique_ptr<KvState>> Model::make_cache(int64_t n_ctx) {
  return weights_->make_kv(n_ctx);
}

Status Model::check_request(std::span<const int32_t> tokens, int32_t pos,
                            const KvState& cache) const {
  if (tokens.empty()) return make_error(ErrorCode::kInvalidArgument, "forward: no tokens given");
  if (cache.n_layers() != hp_.n_layers || cache.kv_dim() != hp_.kv_dim() ||
      cache.type() != kv_type()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward: KV cache shaped for {} layers x {} does not fit this model "
                      "({} layers x {}) in its precision",
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

Status Model::forward(std::span<const int32_t> tokens, int32_t pos, KvState& cache,
                      LogitsRequest request, float* logits) {
  CMDAI_TRY(check_request(tokens, pos, cache));
  // Long prompts run in slices so activation memory stays bounded; every row's math is the same
  // whatever the slicing, because attention reads earlier slices back from the cache.
  const size_t n = tokens.size();
  for (size_t begin = 0; begin < n; begin += kMaxBatchTokens) {
    const size_t count = std::min(kMaxBatchTokens, n - begin);
    const bool last_slice = begin + count == n;
    device::ForwardPass pass;
    pass.tokens = tokens.subspan(begin, count);
    pass.pos = pos + static_cast<int32_t>(begin);
    pass.kv = &cache;
    pass.all_rows = request == LogitsRequest::kAllRows;
    if (pass.all_rows) {
      pass.logits = logits + begin * static_cast<size_t>(hp_.vocab_size);
    } else {
      pass.logits = last_slice ? logits : nullptr;
    }
    CMDAI_TRY(weights_->forward(pass));
  }
  return ok_status();
}

Status Model::forward_batch(std::span<const device::BatchSlot> slots, float* logits) {
  if (slots.empty()) return make_error(ErrorCode::kInvalidArgument, "forward_batch: no slots");
  if (slots.size() > kMaxBatchTokens) {
    return make_error(ErrorCode::kInvalidArgument, "forward_batch: {} slots exceed the limit of {}",
                      slots.size(), kMaxBatchTokens);
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].kv == nullptr) {
      return make_error(ErrorCode::kInvalidArgument, "forward_batch: slot {} has no cache", i);
    }
    CMDAI_TRY(
        check_request(std::span<const int32_t>(&slots[i].token, 1), slots[i].pos, *slots[i].kv));
    for (size_t j = 0; j < i; ++j) {
      if (slots[j].kv == slots[i].kv) {
        return make_error(ErrorCode::kInvalidArgument,
                          "forward_batch: slots {} and {} share one cache", j, i);
      }
    }
  }
  return weights_->forward_batch(slots, logits, hp_.vocab_size);
}

Result<std::vector<uint8_t>> Model::save_kv(const KvState& cache,
                                            std::span<const int32_t> tokens) const {
  return serialize_kv(cache, tokens, fingerprint_);
}

Result<std::unique_ptr<KvState>> Model::restore_kv(std::span<const uint8_t> bytes, int64_t n_ctx,
                                                   std::vector<int32_t>* tokens) {
  CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<KvState> cache,
                         deserialize_kv(
                             bytes, hp_.n_layers, hp_.kv_dim(), kv_type(), n_ctx, fingerprint_,
                             [this](int64_t n) { return weights_->make_kv(n); }, tokens));
  for (int32_t id : *tokens) {
    if (id < 0 || id >= hp_.vocab_size) {
      return make_error(ErrorCode::kCorruptFile, "KV snapshot holds token id {} outside [0, {})",
                        id, hp_.vocab_size);
    }
  }
  return cache;
}

}  // namespace cmdai::model
