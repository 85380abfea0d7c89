// `cmdai model synth`: writes a model of a real shape with random weights (tests, benchmarks).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "cli/synthetic_model.h"

namespace cmdai::cli {
namespace {

struct SynthFlags {
  std::string shape = "tiny";
  std::string quant = "q4_k_m";
  std::string vocab_from;
  std::string out;
  uint64_t seed = 1;
  int64_t hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, ffn_dim = 0;
  bool json = false;
};

void run_synth(const SynthFlags& f, CliContext& context) {
  auto shape = find_synth_shape(f.shape);
  if (!shape) {
    fmt::print(
        stderr,
        "cmdai: error: unknown shape '{}' (use tiny, qwen2.5-coder-0.5b or qwen2.5-coder-1.5b)\n",
        f.shape);
    context.exit_code = kExitUsage;
    return;
  }
  if (f.hidden_dim > 0) shape->hidden_dim = f.hidden_dim;
  if (f.n_layers > 0) shape->n_layers = f.n_layers;
  if (f.n_heads > 0) shape->n_heads = f.n_heads;
  if (f.n_kv_heads > 0) shape->n_kv_heads = f.n_kv_heads;
  if (f.ffn_dim > 0) shape->ffn_dim = f.ffn_dim;
  SynthOptions options{*shape, f.quant, f.vocab_from, f.seed, f.out};
  const double start_ms = now_ms();
  auto summary = write_synthetic_model(options);
  if (!summary.ok()) {
    fmt::print(stderr, "cmdai: error: {}\n", summary.error().message);
    context.exit_code = exit_code_for(summary.error());
    return;
  }
  const double took_ms = now_ms() - start_ms;
  if (f.json) {
    nlohmann::json out = {{"path", f.out},
                          {"shape", shape->name},
                          {"quant", f.quant},
                          {"n_layers", shape->n_layers},
                          {"hidden_dim", shape->hidden_dim},
                          {"n_heads", shape->n_heads},
                          {"n_kv_heads", shape->n_kv_heads},
                          {"ffn_dim", shape->ffn_dim},
                          {"vocab_size", summary->vocab_size},
                          {"n_params", summary->n_params},
                          {"file_size_bytes", summary->file_size_bytes},
                          {"seed", f.seed},
                          {"took_ms", took_ms}};
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("wrote {} ({} {}, {} parameters, {:.1f} MB) in {:.1f} s\n", f.out, shape->name,
               f.quant, summary->n_params, summary->file_size_bytes / 1e6, took_ms / 1000.0);
  }
}

void setup_synth(CLI::App& app, CliContext& context) {
  static SynthFlags flags;
  CLI::App* model = subcommand(app, "model", "Manage and inspect models");
  CLI::App* synth = model->add_subcommand(
      "synth", "Write a model of a real shape with random weights (for tests and benchmarks)");
  synth->add_option("--shape", flags.shape, "tiny, qwen2.5-coder-0.5b or qwen2.5-coder-1.5b")
      ->capture_default_str();
  synth->add_option("--quant", flags.quant, "f16, q8_0 or q4_k_m")->capture_default_str();
  synth->add_option("--vocab-from", flags.vocab_from, "copy the tokenizer of this GGUF file");
  synth->add_option("--seed", flags.seed, "random seed")->capture_default_str();
  synth->add_option("--hidden-dim", flags.hidden_dim, "override the shape's hidden_dim");
  synth->add_option("--n-layers", flags.n_layers, "override the shape's n_layers");
  synth->add_option("--n-heads", flags.n_heads, "override the shape's n_heads");
  synth->add_option("--n-kv-heads", flags.n_kv_heads, "override the shape's n_kv_heads");
  synth->add_option("--ffn-dim", flags.ffn_dim, "override the shape's ffn_dim");
  synth->add_option("--out", flags.out, "where to write the GGUF file")->required();
  synth->add_flag("--json", flags.json, "print one JSON object");
  synth->callback([&context] { run_synth(flags, context); });
}

CMDAI_REGISTER_COMMAND(setup_synth);

}  // namespace
}  // namespace cmdai::cli
