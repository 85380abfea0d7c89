// The generation loop of one session: prefill the prompt in one batch (reusing a cached prefix),
// then decode token by token until an end-of-generation token, a stop sequence, max_tokens, the
// deadline or a cancel request.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "engine/sampler.h"
#include "model/model.h"

namespace cmdai::engine {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 128;
  SamplerConfig sampling;
  std::vector<int32_t> eog_ids;   // generation ends at these (they are not part of the output)
  std::vector<std::string> stop;  // generation ends before the first of these in the text
  Deadline deadline = Deadline::never();
  const std::atomic<bool>* cancel = nullptr;
  // The bytes a token stands for; needed for `stop` and for the result's text.
  std::function<std::string(int32_t id)> token_text;
  // After every generated token: its id and the text it releases (held back while it could
  // still be the start of a stop sequence or an incomplete UTF-8 character). false stops.
  std::function<bool(int32_t id, std::string_view released_text)> on_token;
  // Before each sampling step: may set logits to -infinity to forbid tokens (e.g. to keep an
  // answer well-formed). `steps_left` counts this step, so 1 means the last token.
  std::function<void(std::span<float> logits, int32_t step, int32_t steps_left)> logit_filter;
};

enum class StopReason { kMaxTokens, kEndOfGeneration, kStopSequence, kCallback, kContextFull };
std::string_view stop_reason_name(StopReason reason);

struct GenerateTimings {
  double prefill_ms = 0;
  double decode_ms = 0;
  int32_t prompt_tokens = 0;
  int32_t cached_prompt_tokens = 0;  // reused from the previous request's KV cache
  int32_t generated_tokens = 0;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids, without the end-of-generation token
  std::string text;             // their text, cut before a stop sequence
  StopReason stop_reason = StopReason::kMaxTokens;
  GenerateTimings timings;
};

class Generator {
 public:
  // Prompt tokens per forward pass during prefill: interrupts are checked between slices.
  static constexpr size_t kPrefillSliceTokens = 128;

  // The model is borrowed and must outlive the generator.
  explicit Generator(model::Model& model);

  // kTimeout past the deadline, kCancelled when *cancel turns true, kInvalidArgument for an
  // empty prompt or one that does not fit the model's context.
  Result<GenerateResult> generate(const GenerateRequest& request);

  // Prompt tokens whose keys and values are still cached (the next request's reusable prefix).
  const std::vector<int32_t>& cached_tokens() const { return cached_tokens_; }

  // The KV state of the first n cached tokens as bytes (model/kv_snapshot.h), to persist a
  // fixed prompt prefix; kInvalidArgument when fewer than n tokens are cached.
  Result<std::vector<uint8_t>> save_prefix(size_t n_tokens) const;
  // Installs a state saved by save_prefix for this model; the next request reuses it as far as
  // its prompt agrees with the saved tokens.
  Status restore_prefix(std::span<const uint8_t> bytes);

 private:
  Status prefill(const GenerateRequest& request, int32_t reused);
  Status prepare_cache(const GenerateRequest& request, int32_t* reused);

  model::Model& model_;
  std::unique_ptr<model::KvState> cache_;
  std::vector<int32_t> cached_tokens_;
  std::vector<float> logits_;  // [vocab_size], reused by every step
};

}  // namespace cmdai::engine
