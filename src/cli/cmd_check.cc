// `cmdai check [--json] [--safety LEVEL] [--shell SHELL] COMMAND...`: rate a shell command without
// running it, read in the grammar of the shell that would run it.
#include <fmt/format.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "config/config.h"
#include "generate/prompt_builder.h"
#include "safety/validator.h"

namespace cmdai::cli {
namespace {

using safety::SafetyLevel;
using safety::SafetyVerdict;

struct CheckOptions {
  bool json = false;
  std::vector<std::string> words;  // the command, as separate words or one quoted argument
  std::string safety;  // empty: the configured level (config file, $CMDAI_SAFETY), else moderate
  std::string shell;   // empty: the configured shell, else the one $SHELL names
};

// --safety wins over the configuration (config file < $CMDAI_SAFETY), whose default is moderate.
std::optional<SafetyLevel> resolve_level(const std::string& flag, std::string* error) {
  if (!flag.empty()) return safety::parse_safety_level(flag);  // CLI11 already checked it
  Result<config::Config> config = config::load_config();
  if (!config.ok()) {
    *error = config.error().message;
    return std::nullopt;
  }
  std::optional<SafetyLevel> level = safety::parse_safety_level(config->safety);
  if (!level)
    *error = fmt::format("safety level '{}' is not strict, moderate or permissive", config->safety);
  return level;
}

// --shell wins over the configured shell, whose default is the one $SHELL names. A shell the
// check cannot read (tcsh, nu, ...) is read as bash, as the request path does.
safety::Dialect resolve_dialect(const std::string& flag) {
  std::string shell = flag;
  if (shell.empty()) {
    Result<config::Config> config = config::load_config();
    if (config.ok()) shell = config->shell;
  }
  if (shell.empty()) shell = detect_shell();
  return safety::dialect_of_shell(shell).value_or(safety::Dialect::kBash);
}

void print_plain(const SafetyVerdict& verdict) {
  fmt::print("command: {}\n", verdict.command);
  fmt::print("risk: {}\n", safety::risk_name(verdict.risk));
  fmt::print("blocked: {}\n", verdict.blocked ? "yes" : "no");
  for (const safety::RuleMatch& match : verdict.rules) {
    fmt::print("  [{}] {}: {}\n", match.id, safety::risk_name(match.risk), match.reason);
  }
}

void print_json(const SafetyVerdict& verdict, SafetyLevel level, safety::Dialect dialect) {
  nlohmann::json rules = nlohmann::json::array();
  for (const safety::RuleMatch& match : verdict.rules) {
    rules.push_back(
        {{"id", match.id}, {"risk", safety::risk_name(match.risk)}, {"reason", match.reason}});
  }
  const nlohmann::json out = {{"command", verdict.command},
                              {"risk", safety::risk_name(verdict.risk)},
                              {"blocked", verdict.blocked},
                              {"needs_confirmation", verdict.needs_confirmation},
                              {"safety_level", safety::safety_level_name(level)},
                              {"shell", safety::dialect_name(dialect)},
                              {"rules", rules}};
  // Invalid UTF-8 in the command must not abort the dump: replace it instead.
  fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void run_check(const CheckOptions& options, const std::vector<std::string>& words,
               CliContext& context) {
  if (words.empty()) {
    fmt::print(stderr, "cmdai: error: check needs a command, e.g. cmdai check -- rm -rf /tmp/x\n");
    context.exit_code = kExitUsage;
    return;
  }
  std::string error;
  const std::optional<SafetyLevel> level = resolve_level(options.safety, &error);
  if (!level) {
    fmt::print(stderr, "cmdai: error: {}\n", error);
    context.exit_code = kExitUsage;
    return;
  }
  // Several words are joined with spaces; quote the command as one argument to keep its quoting.
  std::string command;
  for (const std::string& word : words) command += (command.empty() ? "" : " ") + word;
  const safety::Dialect dialect = resolve_dialect(options.shell);
  const SafetyVerdict verdict = safety::check_command(command, *level, dialect);
  if (options.json) {
    print_json(verdict, *level, dialect);
  } else {
    print_plain(verdict);
  }
  context.exit_code = kExitOk;
}

void setup_check_command(CLI::App& app, CliContext& context) {
  static CheckOptions options;
  CLI::App* check = app.add_subcommand(
      "check", "Rate a shell command's risk without running it (exit 0 whatever the verdict)");
  check->add_flag("--json", options.json, "print one JSON object");
  check
      ->add_option("--safety", options.safety,
                   "safety level: strict, moderate or permissive (default: $CMDAI_SAFETY, "
                   "else moderate)")
      ->check(CLI::IsMember({"strict", "moderate", "permissive"}));
  check
      ->add_option("--shell", options.shell,
                   "the shell that would run the command, whose grammar the check reads: bash, "
                   "zsh, fish, sh, dash or ksh (default: the configured shell, else $SHELL)")
      ->check(CLI::IsMember({"bash", "zsh", "fish", "sh", "dash", "ksh"}));
  check->add_option("command", options.words, "the command to rate");
  // From the first word of the command on, nothing is read as a cmdai option, so
  // `cmdai check rm -rf /tmp/x` works without `--` (and with it).
  check->positionals_at_end();
  check->callback([&context] { run_check(options, options.words, context); });
}

CMDAI_REGISTER_COMMAND(setup_check_command);

}  // namespace
}  // namespace cmdai::cli
