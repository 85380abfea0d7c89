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

namespace {

EmbeddedConfig with_prompt(EmbeddedConfig config, const BuiltPrompt& prompt) {
  config.shared_prefix_bytes = prompt.shared_prefix_bytes;
  config.cacheable_prefix_bytes = prompt.cacheable_prefix_bytes;
  config.answer_lines = 1;
  return config;
}

// What is left of the request's time budget; <= 0 in `budget_ms` means no limit.
int remaining_ms(int budget_ms, double started_ms) {
  if (budget_ms <= 0) return 0;
  return std::max(1, budget_ms - static_cast<int>(now_ms() - started_ms));
}

}  // namespace

Result<GeneratedCommand> EmbeddedGenerator::attempt(const GenerationRequest& request,
                                                    const EmbeddedConfig& config) {
  const BuiltPrompt prompt = build_prompt(request);
  std::string continuation;
  auto text =
      backend_->infer_stream(prompt.text, with_prompt(config, prompt), [&](std::string_view piece) {
        continuation.append(piece);
        return !answer_complete(continuation);
      });
  if (!text.ok()) return text.take_error();
  CMDAI_ASSIGN_OR_RETURN(ParsedAnswer answer, parse_answer(continuation));
  GeneratedCommand out;
  out.command = std::move(answer.command);
  out.backend = name();
  out.model = backend_->model_name();
  out.device = backend_->device_description();
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

Result<std::string> EmbeddedGenerator::explain(const GenerationRequest& request,
                                               const std::string& command,
                                               const EmbeddedConfig& config) {
  const BuiltPrompt prompt = build_explanation_prompt(request, command);
  std::string continuation;
  auto text =
      backend_->infer_stream(prompt.text, with_prompt(config, prompt), [&](std::string_view piece) {
        continuation.append(piece);
        return !answer_complete(continuation);
      });
  if (!text.ok()) return text.take_error();
  return parse_explanation(continuation);
}

Result<GeneratedCommand> EmbeddedGenerator::generate(const GenerationRequest& request) {
  const double start_ms = now_ms();
  double load_ms = 0;
  if (!backend_->is_loaded()) {
    CMDAI_TRY(backend_->load());
    load_ms = now_ms() - start_ms;
  }
  const double loaded_ms = now_ms();
  EmbeddedConfig config;
  config.sampling = settings_.sampling;
  config.max_tokens = settings_.max_tokens;
  config.cancel = settings_.cancel;
  // The command is asked for exactly as without --explain, so --explain never changes it; the
  // explanation of the chosen command is asked for afterwards.
  GenerationRequest command_request = request;
  command_request.explain = false;
  config.timeout_ms = remaining_ms(settings_.timeout_ms, loaded_ms);
  auto generated = attempt(command_request, config);
  if (!generated.ok() && generated.error().code == ErrorCode::kGenerationFailed) {
    EmbeddedConfig retry = config;
    retry.sampling.temperature = std::max(config.sampling.temperature, 0.4f);
    retry.sampling.seed = settings_.sampling.seed + 1;
    retry.timeout_ms = remaining_ms(settings_.timeout_ms, loaded_ms);
    auto second = attempt(command_request, retry);
    if (!second.ok()) {
      return make_error(second.error().code, "{} (after one retry; first answer: {})",
                        second.error().message, generated.error().message);
    }
    second->attempts = 2;
    generated = std::move(second);
  }
  if (!generated.ok()) return generated;
  if (request.explain) {
    config.timeout_ms = remaining_ms(settings_.timeout_ms, loaded_ms);
    CMDAI_ASSIGN_OR_RETURN(generated->explanation, explain(request, generated->command, config));
  }
  generated->timings.load_ms = load_ms;
  generated->timings.total_ms = now_ms() - start_ms;
  return generated;
}

}  // namespace cmdai
