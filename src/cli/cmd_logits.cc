// `cmdai logits`: one batched forward pass over given token ids, printing the top logits of every
// position (for checking the engine against llama.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "cli/token_ids.h"
#include "engine/model_loader.h"
#include "model/model.h"

namespace cmdai::cli {
namespace {

struct LogitsOptions {
  std::string model_path;
  std::string tokens;
  int top = 20;
  std::string last_out;
  bool exact = false;
  std::string backend = "auto";
  int threads = 0;
  bool json = false;
};

// Ids of the k largest logits of one row, largest first, ties to the lower id.
std::vector<int32_t> top_ids(const float* logits, int64_t n, int k) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  const auto count = static_cast<std::ptrdiff_t>(std::min<int64_t>(k, n));
  std::partial_sort(ids.begin(), ids.begin() + count, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  ids.resize(static_cast<size_t>(count));
  return ids;
}

Status write_floats(const std::string& path, const float* values, int64_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(n * sizeof(float)));
  if (!out) return make_error(ErrorCode::kIo, "cannot write the last logits to '{}'", path);
  return ok_status();
}

Status run_logits(const LogitsOptions& options) {
  if (options.top < 1) return make_error(ErrorCode::kInvalidArgument, "--top must be at least 1");
  CMDAI_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, parse_token_ids(options.tokens));
  CMDAI_ASSIGN_OR_RETURN(
      engine::OpenedModel opened,
      engine::open_model(options.model_path, options.backend, options.threads, options.exact));
  model::Model* model = opened.loaded.model.get();
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t vocab = model->hparams().vocab_size;
  if (n > model->hparams().context_length) {
    return make_error(ErrorCode::kInvalidArgument, "{} tokens exceed the model's context of {}", n,
                      model->hparams().context_length);
  }
  CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<model::KvState> cache, model->make_cache(n));
  std::vector<float> logits(static_cast<size_t>(n * vocab));
  CMDAI_TRY(model->forward(tokens, 0, *cache, model::LogitsRequest::kAllRows, logits.data()));
  if (!options.last_out.empty()) {
    CMDAI_TRY(write_floats(options.last_out, logits.data() + (n - 1) * vocab, vocab));
  }

  nlohmann::json positions = nlohmann::json::array();
  std::string text;
  for (int64_t pos = 0; pos < n; ++pos) {
    const float* row = logits.data() + pos * vocab;
    nlohmann::json top = nlohmann::json::array();
    text += fmt::format("pos {:4} token {:6}:", pos, tokens[static_cast<size_t>(pos)]);
    for (int32_t id : top_ids(row, vocab, options.top)) {
      top.push_back({{"id", id}, {"logit", row[id]}});
      text += fmt::format(" {}={:.4f}", id, row[id]);
    }
    positions.push_back({{"pos", pos}, {"top", std::move(top)}});
    text += '\n';
  }
  if (options.json) {
    fmt::print("{}\n", nlohmann::json{{"n_vocab", vocab}, {"positions", positions}}.dump());
  } else {
    fmt::print("{}", text);
  }
  return ok_status();
}

void setup_logits_command(CLI::App& app, CliContext& context) {
  static LogitsOptions options;
  CLI::App* cmd = app.add_subcommand(
      "logits",
      "Run token ids through a GGUF model in one batch and print each position's top logits");
  cmd->add_option("--model", options.model_path, "GGUF model file")->required();
  cmd->add_option("--tokens", options.tokens, "Comma-separated token ids, e.g. 1,403,407")
      ->required();
  cmd->add_option("--top", options.top, "How many logits to show per position (default 20)");
  cmd->add_option("--last-out", options.last_out,
                  "Write the last position's logits here as raw little-endian float32");
  cmd->add_flag("--exact", options.exact, "Use the float reference path (f32 activations and KV)");
  cmd->add_option("--backend", options.backend, "Device: auto, cpu, cuda or mlx (default auto)");
  cmd->add_option("--threads", options.threads, "CPU worker threads (default: one per core)");
  cmd->add_flag("--json", options.json, "Print one JSON object");
  cmd->callback([&context] {
    const Status status = run_logits(options);
    if (!status.ok()) {
      fmt::print(stderr, "cmdai: error: {}\n", status.error().message);
      context.exit_code = exit_code_for(status.error());
    }
  });
}

CMDAI_REGISTER_COMMAND(setup_logits_command);

}  // namespace
}  // namespace cmdai::cli
