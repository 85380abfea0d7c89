// The cmdai binary: a thin composition root over the library layers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/app.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  using namespace cmdai::cli;
  CLI::App app;
  CliContext context;
  build_app(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e) == 0 ? kExitOk : kExitUsage;  // help, version
    // Every error is one `cmdai: error:` line; it names the help of the command that was parsing.
    std::string help = "cmdai";
    for (const CLI::App* at = &app; !at->get_subcommands().empty();) {
      at = at->get_subcommands().back();
      help += " " + at->get_name();
    }
    fmt::print(stderr, "cmdai: error: {} (see {} --help)\n", e.what(), help);
    return kExitUsage;
  } catch (const std::exception& e) {
    // Nothing may end cmdai with an abort: an escaped exception is a bug, reported as one.
    std::fflush(stdout);
    fmt::print(stderr, "cmdai: error: internal error: {}\n", e.what());
    return kExitError;
  }
  // Output that did not reach its destination (a full disk, a closed stdout) is an I/O error.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int err = errno;
    fmt::print(stderr, "cmdai: error: cannot write to standard output: {}\n",
               err != 0 ? std::strerror(err) : "write error");
    return context.exit_code == kExitOk ? kExitIo : context.exit_code;
  }
  return context.exit_code;
}
