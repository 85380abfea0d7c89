// The whole cmdai command line as one CLI11 App: main() parses it, and the completion scripts and
// the man page are generated from it, so none of them can disagree about a flag.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command_registry.h"

namespace cmdai::cli {

// Names and describes `app` as cmdai, adds the top-level flags (--version, --verbose) and every
// registered subcommand. `context` must outlive the parse.
void build_app(CLI::App& app, CliContext& context);

}  // namespace cmdai::cli
