// `cmdai generate`: runs cmdai's own engine on a GGUF model and prints the continuation of a
// prompt (text or token ids), with sampling settings and timings.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "cli/token_ids.h"
#include "engine/generator.h"
#include "engine/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::cli {
namespace {

struct GenerateOptions {
  std::string model_path;
  std::string prompt;
  std::string tokens;
  int max_tokens = 32;
  engine::SamplerConfig sampling;
  bool exact = false;
  std::string backend = "auto";
  int threads = 0;
  bool json = false;
};

double per_second(int64_t tokens, double ms) { return ms > 0 ? tokens * 1000.0 / ms : 0.0; }

nlohmann::json to_json(const std::vector<int32_t>& prompt, const engine::GenerateResult& result,
                       double load_ms) {
  const engine::GenerateTimings& t = result.timings;
  const int64_t prefilled = t.prompt_tokens - t.cached_prompt_tokens;
  return {{"prompt_tokens", prompt},
          {"tokens", result.tokens},
          {"text", result.text},
          {"stop_reason", std::string(engine::stop_reason_name(result.stop_reason))},
          {"timings",
           {{"load_ms", load_ms},
            {"prefill_ms", t.prefill_ms},
            {"decode_ms", t.decode_ms},
            {"prefill_tokens_per_s", per_second(prefilled, t.prefill_ms)},
            {"decode_tokens_per_s", per_second(t.generated_tokens, t.decode_ms)}}}};
}

Status run_generate(const GenerateOptions& options) {
  if (options.prompt.empty() == options.tokens.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "give exactly one of --prompt and --tokens");
  }
  if (options.max_tokens < 0) return make_error(ErrorCode::kInvalidArgument, "-n must be >= 0");
  const double load_start = now_ms();
  CMDAI_ASSIGN_OR_RETURN(
      engine::OpenedModel opened,
      engine::open_model(options.model_path, options.backend, options.threads, options.exact));
  model::Model* model = opened.loaded.model.get();
  CMDAI_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok,
                         tokenizer::Tokenizer::from_gguf(*opened.loaded.file));
  const double load_ms = now_ms() - load_start;

  engine::GenerateRequest request;
  if (!options.prompt.empty()) {
    request.prompt = tok.encode(options.prompt, /*add_special=*/true, /*parse_special=*/true);
  } else {
    CMDAI_ASSIGN_OR_RETURN(request.prompt, parse_token_ids(options.tokens));
  }
  request.max_tokens = options.max_tokens;
  request.sampling = options.sampling;
  for (int32_t id = 0; id < model->hparams().vocab_size; ++id) {
    if (tok.is_eog(id)) request.eog_ids.push_back(id);
  }
  request.token_text = [&tok](int32_t id) {
    std::string piece;
    tok.append_piece(id, /*render_special=*/false, /*at_start=*/false, piece);
    return piece;
  };

  engine::Generator generator(*model);
  CMDAI_ASSIGN_OR_RETURN(engine::GenerateResult result, generator.generate(request));
  if (options.json) {
    const auto json = to_json(request.prompt, result, load_ms);
    fmt::print("{}\n", json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}\n", result.text);
  }
  return ok_status();
}

void setup_generate_command(CLI::App& app, CliContext& context) {
  static GenerateOptions options;
  engine::SamplerConfig& s = options.sampling;
  CLI::App* cmd = app.add_subcommand(
      "generate", "Continue a prompt with a GGUF model on cmdai's own engine (greedy by default)");
  cmd->add_option("--model", options.model_path, "GGUF model file")->required();
  cmd->add_option("--prompt", options.prompt,
                  "Prompt text (special tokens such as <|im_start|> are recognized)");
  cmd->add_option("--tokens", options.tokens, "Prompt as comma-separated token ids instead");
  cmd->add_option("-n,--max-tokens", options.max_tokens, "Most tokens to generate (default 32)");
  cmd->add_option("--temperature", s.temperature, "0 = greedy (default)");
  cmd->add_option("--top-k", s.top_k, "Keep the k most likely tokens (0 = off)");
  cmd->add_option("--top-p", s.top_p, "Nucleus sampling threshold (1 = off)");
  cmd->add_option("--min-p", s.min_p, "Drop tokens below min-p times the best (0 = off)");
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "Penalty for recent tokens (1 = off)");
  cmd->add_option("--repeat-window", s.repeat_window, "How many recent tokens it looks at");
  cmd->add_option("--seed", s.seed, "Random seed for sampling");
  cmd->add_flag("--exact", options.exact, "Use the float reference path (f32 activations and KV)");
  cmd->add_option("--backend", options.backend, "Device: auto, cpu, cuda or mlx (default auto)");
  cmd->add_option("--threads", options.threads, "CPU worker threads (default: one per core)");
  cmd->add_flag("--json", options.json, "Print one JSON object");
  cmd->callback([&context] {
    const Status status = run_generate(options);
    if (!status.ok()) {
      fmt::print(stderr, "cmdai: error: {}\n", status.error().message);
      context.exit_code = exit_code_for(status.error());
    }
  });
}

CMDAI_REGISTER_COMMAND(setup_generate_command);

}  // namespace
}  // namespace cmdai::cli
