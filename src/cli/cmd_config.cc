// `cmdai config show [--json]` and `cmdai config path`: the effective settings and their sources.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "config/config.h"

namespace cmdai::cli {
namespace {

nlohmann::json value_json(const config::Config& config, const config::KeyInfo& key) {
  const std::string text = config.get(key.name);
  if (key.kind == config::ValueKind::kString) return text;
  // get() prints numbers in shortest round-trip form; parsing that keeps 0.95 as 0.95 in JSON.
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

void run_show(bool json, CliContext& context) {
  Result<config::Config> config = config::load_config();
  if (!config.ok()) {
    fmt::print(stderr, "cmdai: error: {}\n", config.error().message);
    context.exit_code = exit_code_for(config.error());
    return;
  }
  if (json) {
    nlohmann::json values = nlohmann::json::object();
    for (const config::KeyInfo& key : config::config_keys()) {
      values[std::string(key.name)] = {
          {"value", value_json(*config, key)},
          {"source", std::string(config::source_name(config->source_of(key.name)))},
          {"env", std::string(key.env_var)}};
    }
    nlohmann::json out = {
        {"file", config->file.string()}, {"file_loaded", config->file_loaded}, {"values", values}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("# config file: {} ({})\n", config->file.string(),
             config->file_loaded ? "loaded" : "not present, using defaults");
  fmt::print("{}", config->to_toml());
}

void setup_config_commands(CLI::App& app, CliContext& context) {
  CLI::App* group = subcommand(app, "config", "Show cmdai's settings and where they come from");

  static bool show_json = false;
  CLI::App* show = group->add_subcommand(
      "show", "Print every setting with its source (default, file, env or flag)");
  show->add_flag("--json", show_json, "print one JSON object");
  show->callback([&context] { run_show(show_json, context); });

  CLI::App* path = group->add_subcommand("path", "Print the config file path (it may not exist)");
  path->callback([] { fmt::print("{}\n", config::default_config_path().string()); });
}

CMDAI_REGISTER_COMMAND(setup_config_commands);

}  // namespace
}  // namespace cmdai::cli
