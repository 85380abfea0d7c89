// The cmdai binary: a thin composition root over the library layers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli/command_registry.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  using namespace cmdai::cli;
  CLI::App app{"cmdai: turn a plain-language request into one safe shell command", "cmdai"};
  app.set_version_flag("--version", std::string("cmdai ") + CMDAI_VERSION);
  CliContext context;
  app.add_flag("-v,--verbose", context.verbose, "Say more about what cmdai does");
  for (CommandSetup setup : registered_commands()) setup(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return context.exit_code;
}
