// The decode bookkeeping of one sequence, shared by the single-request Generator and the batching
// scheduler: logit filter, sampling, end-of-generation, stop sequences held back until they can no
// longer match, and the streaming callback. The caller owns the forward passes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/generator.h"
#include "engine/sampler.h"

namespace cmdai::engine {

// The generated text, cut at the first stop sequence, released to the caller only once no stop
// sequence can begin in it (and no UTF-8 character is incomplete).
class StopTracker {
 public:
  explicit StopTracker(const std::vector<std::string>& stops) : stops_(stops) {}

  // Appends a token's bytes; true when a stop sequence is now complete (the text is cut there).
  bool append(std::string_view piece);
  // Text that can no longer turn into a stop sequence, not yet released; `final` releases all.
  std::string_view release(bool final);
  std::string take() { return std::move(text_); }

 private:
  const std::vector<std::string>& stops_;
  std::string text_;
  size_t released_ = 0;
};

// kCancelled when *request.cancel turned true, kTimeout past request.deadline.
Status check_interrupts(const GenerateRequest& request);
// kInvalidArgument for an empty prompt or one that does not fit `context_length`.
Status check_prompt_fits(const GenerateRequest& request, int64_t context_length);

class SequenceDecoder {
 public:
  // The request must outlive the decoder.
  explicit SequenceDecoder(const GenerateRequest& request);

  bool done() const { return done_; }
  // Tokens sampled so far (steps that produced an output token or ended the sequence).
  int32_t steps() const { return step_; }
  // The token the next forward pass must run (the last one sampled); only when steps() > 0.
  int32_t last_token() const { return result_.tokens.back(); }

  // Takes the logits that follow the sequence so far and samples the next token; ends the
  // sequence at an end-of-generation token, a stop sequence, the callback's refusal or
  // max_tokens. The logits may be modified (the request's logit filter).
  void step(std::span<float> logits);
  // Ends the sequence for a reason found outside (a full context).
  void end(StopReason reason);
  // The result once done: releases the held-back text to the callback.
  GenerateResult finish();

 private:
  const GenerateRequest& request_;
  Sampler sampler_;
  StopTracker text_;
  std::vector<int32_t> history_;  // prompt plus generated tokens (the repetition window)
  GenerateResult result_;
  int32_t step_ = 0;
  bool done_ = false;
};

}  // namespace cmdai::engine
