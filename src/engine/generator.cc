#include "engine/generator.h"

#include <algorithm>

#include "engine/sequence_decoder.h"

namespace cmdai::engine {

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kEndOfGeneration:
      return "eog";
    case StopReason::kStopSequence:
      return "stop_sequence";
    case StopReason::kCallback:
      return "callback";
    case StopReason::kContextFull:
      return "context_full";
  }
  return "unknown";
}

Generator::Generator(model::Model& model)
    : model_(model), logits_(static_cast<size_t>(model.hparams().vocab_size)) {}

// Reuses the cached keys and values of the longest shared prompt prefix; reallocates only when
// the cache is too small for this request.
Status Generator::prepare_cache(const GenerateRequest& request, int32_t* reused) {
  const int64_t context_length = model_.hparams().context_length;
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  CMDAI_TRY(check_prompt_fits(request, context_length));
  const int64_t n_ctx = model::kv_context_for(n_prompt, request.max_tokens, context_length);
  if (cache_ && cache_->type() != model_.kv_type()) {
    cache_.reset();
    cached_tokens_.clear();
  }
  if (!cache_ || cache_->n_ctx() < n_ctx) {
    CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<model::KvState> grown, model_.make_cache(n_ctx));
    if (cache_) CMDAI_TRY(grown->copy_prefix(*cache_, static_cast<int32_t>(cached_tokens_.size())));
    cached_tokens_.resize(static_cast<size_t>(grown->n_filled()));
    cache_ = std::move(grown);
  }
  // At least one prompt token must run to produce the first logits.
  size_t common = 0;
  const size_t limit = std::min(cached_tokens_.size(), request.prompt.size() - 1);
  while (common < limit && cached_tokens_[common] == request.prompt[common]) ++common;
  cache_->truncate(static_cast<int32_t>(common));
  cached_tokens_.resize(common);
  *reused = static_cast<int32_t>(common);
  return ok_status();
}

Result<std::vector<uint8_t>> Generator::save_prefix(size_t n_tokens) const {
  if (!cache_ || n_tokens > cached_tokens_.size()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot save a prefix of {} tokens: only {} are cached", n_tokens,
                      cached_tokens_.size());
  }
  return model_.save_kv(*cache_, std::span<const int32_t>(cached_tokens_.data(), n_tokens));
}

Status Generator::restore_prefix(std::span<const uint8_t> bytes) {
  std::vector<int32_t> tokens;
  const int64_t n_ctx = cache_ ? cache_->n_ctx() : 0;
  CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<model::KvState> cache,
                         model_.restore_kv(bytes, n_ctx, &tokens));
  cache_ = std::move(cache);
  cached_tokens_ = std::move(tokens);
  return ok_status();
}

// The prompt after the reused prefix, in slices so that a cancel or deadline is noticed during a
// long prompt too; the cache keeps whatever slices completed.
Status Generator::prefill(const GenerateRequest& request, int32_t reused) {
  const std::span<const int32_t> prompt(request.prompt);
  for (size_t begin = static_cast<size_t>(reused); begin < prompt.size();
       begin += kPrefillSliceTokens) {
    CMDAI_TRY(check_interrupts(request));
    const size_t count = std::min(kPrefillSliceTokens, prompt.size() - begin);
    CMDAI_TRY(model_.forward(prompt.subspan(begin, count), static_cast<int32_t>(begin), *cache_,
                             model::LogitsRequest::kLastRow, logits_.data()));
    cached_tokens_.assign(prompt.begin(),
                          prompt.begin() + static_cast<std::ptrdiff_t>(begin + count));
  }
  return ok_status();
}

Result<GenerateResult> Generator::generate(const GenerateRequest& request) {
  CMDAI_TRY(check_interrupts(request));
  GenerateResult result;
  int32_t reused = 0;
  CMDAI_TRY(prepare_cache(request, &reused));
  result.timings.prompt_tokens = static_cast<int32_t>(request.prompt.size());
  result.timings.cached_prompt_tokens = reused;

  const double prefill_start = now_ms();
  CMDAI_TRY(prefill(request, reused));
  result.timings.prefill_ms = now_ms() - prefill_start;

  const double decode_start = now_ms();
  SequenceDecoder decoder(request);
  while (!decoder.done()) {
    CMDAI_TRY(check_interrupts(request));
    if (decoder.steps() > 0) {
      if (cache_->n_filled() >= cache_->n_ctx()) {
        decoder.end(StopReason::kContextFull);
        break;
      }
      const int32_t previous = decoder.last_token();
      CMDAI_TRY(model_.forward(std::span<const int32_t>(&previous, 1), cache_->n_filled(), *cache_,
                               model::LogitsRequest::kLastRow, logits_.data()));
      cached_tokens_.push_back(previous);
    }
    decoder.step(logits_);
  }
  const GenerateTimings prefill_timings = result.timings;
  result = decoder.finish();
  result.timings = prefill_timings;
  result.timings.decode_ms = now_ms() - decode_start;
  result.timings.generated_tokens = static_cast<int32_t>(result.tokens.size());
  return result;
}

}  // namespace cmdai::engine
