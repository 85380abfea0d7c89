// What both APIs ask the engine for once their JSON is checked: a prompt as text, sampling,
// limits and stop strings; and what comes back, in the units each API reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/sampling_params.h"
#include "engine/generator.h"

namespace cmdai::serve {

// Most tokens one request may ask for; longer answers are cut by the model's context anyway.
inline constexpr int kMaxTokensLimit = 32768;

struct CompletionRequest {
  std::string model;   // as the client named it ("" = the served one)
  std::string prompt;  // the whole prompt text; chat messages are rendered as ChatML
  bool chat = false;   // the answer is an assistant message
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  // cmdai's own clients (X-Cmdai-Answer-Lines): the answer is that many clean lines of shell text,
  // as backend/line_answer_constraint.h enforces. 0 = unconstrained.
  int answer_lines = 0;
};

struct CompletionOutcome {
  std::string text;
  engine::StopReason stop_reason = engine::StopReason::kMaxTokens;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  double prefill_ms = 0;
  double decode_ms = 0;
  double total_ms = 0;  // from submission to the end, queueing included
};

// "length" when max_tokens or the context ran out, else "stop" (both APIs' vocabulary).
inline std::string_view finish_reason(engine::StopReason reason) {
  return reason == engine::StopReason::kMaxTokens || reason == engine::StopReason::kContextFull
             ? "length"
             : "stop";
}

}  // namespace cmdai::serve
