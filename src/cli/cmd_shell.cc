// `cmdai init bash|zsh|fish`, `cmdai completion bash|zsh|fish` and the hidden `cmdai man-page`.
#include <fmt/format.h>

#include "cli/command_registry.h"
#include "cli/command_tree.h"
#include "cli/completion.h"
#include "cli/exit_codes.h"
#include "cli/man_page.h"
#include "cli/shell_integration.h"

namespace cmdai::cli {
namespace {

void setup_shell_commands(CLI::App& app, CliContext& context) {
  static std::string init_shell;
  CLI::App* init = app.add_subcommand(
      "init",
      "Print shell integration: a cmdai wrapper whose 'e' puts the command on your prompt "
      "line, and Ctrl-X a to turn the current line into a command.\n"
      "  bash: eval \"$(cmdai init bash)\"   zsh: eval \"$(cmdai init zsh)\"   "
      "fish: cmdai init fish | source");
  init->add_option("shell", init_shell, "bash, zsh or fish")->required();
  init->callback([&context] {
    auto script = init_script(init_shell);
    if (!script) {
      fmt::print(stderr, "cmdai: error: no shell integration for '{}' (use bash, zsh or fish)\n",
                 init_shell);
      context.exit_code = kExitUsage;
      return;
    }
    fmt::print("{}", *script);
  });

  static std::string completion_shell;
  CLI::App* completion =
      app.add_subcommand("completion", "Print a tab-completion script for bash, zsh or fish");
  completion->add_option("shell", completion_shell, "bash, zsh or fish")->required();
  // Generated from `app` when it runs, so it has every command registered by then.
  completion->callback([&app, &context] {
    auto script = completion_script(describe_command_line(app), completion_shell);
    if (!script) {
      fmt::print(stderr, "cmdai: error: no completion for '{}' (use bash, zsh or fish)\n",
                 completion_shell);
      context.exit_code = kExitUsage;
      return;
    }
    fmt::print("{}", *script);
  });
}

// Hidden (no group), so --help and the completions leave it out: the build writes
// share/man/man1/cmdai.1 with `cmdai man-page` (cmake/install.cmake). A subcommand rather than a
// hidden --man flag, because CLI11 2.1 prints a blank line in --help for a hidden option.
void setup_man_page(CLI::App& app, CliContext&) {
  CLI::App* man = app.add_subcommand("man-page", "Print the man page (roff)")->group("");
  man->callback([&app] { fmt::print("{}", man_page(describe_command_line(app), CMDAI_VERSION)); });
}

CMDAI_REGISTER_COMMAND(setup_shell_commands);
CMDAI_REGISTER_COMMAND(setup_man_page);

}  // namespace
}  // namespace cmdai::cli
