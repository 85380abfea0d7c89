// The table of `cmdai` subcommands: each cmd_*.cc registers itself, main.cc builds the CLI from it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/result.h"

namespace cmdai::cli {

// State shared by the top-level app and its subcommands while one invocation runs.
struct CliContext {
  int exit_code = 0;
  bool verbose = false;
};

using CommandSetup = void (*)(CLI::App& app, CliContext& context);

// Returns true so a file can register at static-initialization time (see CMDAI_REGISTER_COMMAND).
bool register_command(CommandSetup setup);
const std::vector<CommandSetup>& registered_commands();

// The subcommand `name` of `parent`, created on first use (e.g. "model" is shared by several
// files).
CLI::App* subcommand(CLI::App& parent, const std::string& name, const std::string& description);

}  // namespace cmdai::cli

#define CMDAI_REGISTER_COMMAND(setup)                           \
  static const bool CMDAI_CONCAT(cmdai_registered_, __LINE__) = \
      ::cmdai::cli::register_command(setup)
