#include "generate/embedded_generator.h"

#include <algorithm>

#include "base/clock.h"
#include "generate/prompt_builder.h"
#include "generate/response_parser.h"

namespace cmdai {

EmbeddedGenerator::EmbeddedGenerator(std::shared_ptr<InferenceBackend> backend,
                                     SamplingSettings settings)
    : backend_(std::move(backend)), settings_(settings) {}

std::string EmbeddedGenerator::name() const {
  return std::string(variant_name(backend_->variant()));
}

Result<GeneratedCommand> EmbeddedGenerator::attempt(const GenerationRequest& request,
                                                    const EmbeddedConfig& config) {
  const BuiltPrompt prompt = build_prompt(request);
  EmbeddedConfig with_prefix = config;
  with_prefix.shared_prefix_bytes = prompt.shared_prefix_bytes;
  with_prefix.cacheable_prefix_bytes = prompt.cacheable_prefix_bytes;
  with_prefix.answer_lines = request.explain ? 2 : 1;
  std::string continuation;
  auto text = backend_->infer_stream(prompt.text, with_prefix, [&](std::string_view piece) {
    continuation.append(piece);
    return !answer_complete(continuation, request.explain);
  });
  if (!text.ok()) return text.take_error();
  CMDAI_ASSIGN_OR_RETURN(ParsedAnswer answer, parse_answer(continuation, request.explain));
  GeneratedCommand out;
  out.command = std::move(answer.command);
  out.explanation = std::move(answer.explanation);
  out.backend = name();
  out.model = backend_->model_name();
  const InferenceTimings t = backend_->last_timings();
  out.timings.device_open_ms = t.device_open_ms;
  out.timings.prompt_ms = t.prefill_ms;
  out.timings.first_token_ms = t.first_token_ms;
  out.timings.decode_ms = t.decode_ms;
  out.timings.prompt_tokens = t.prompt_tokens;
  out.timings.cached_prompt_tokens = t.cached_prompt_tokens;
  out.timings.generated_tokens = t.generated_tokens;
  return out;
}

Result<GeneratedCommand> EmbeddedGenerator::generate(const GenerationRequest& request) {
  const double start_ms = now_ms();
  double load_ms = 0;
  if (!backend_->is_loaded()) {
    CMDAI_TRY(backend_->load());
    load_ms = now_ms() - start_ms;
  }
  EmbeddedConfig config;
  config.sampling = settings_.sampling;
  config.max_tokens = settings_.max_tokens;
  config.timeout_ms = settings_.timeout_ms;
  config.cancel = settings_.cancel;
  auto first = attempt(request, config);
  if (first.ok() || first.error().code != ErrorCode::kGenerationFailed) {
    if (first.ok()) {
      first->timings.load_ms = load_ms;
      first->timings.total_ms = now_ms() - start_ms;
    }
    return first;
  }
  config.sampling.temperature = std::max(config.sampling.temperature, 0.4f);
  config.sampling.seed = settings_.sampling.seed + 1;
  auto second = attempt(request, config);
  if (!second.ok()) {
    return make_error(second.error().code, "{} (after one retry; first answer: {})",
                      second.error().message, first.error().message);
  }
  second->attempts = 2;
  second->timings.load_ms = load_ms;
  second->timings.total_ms = now_ms() - start_ms;
  return second;
}

}  // namespace cmdai
