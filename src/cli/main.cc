// The cmdai binary: a thin composition root over the library layers.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "base/cpu_features.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "device/device.h"

namespace {

// What a bug report needs: the version, how it was built, the devices compiled in (the order
// --backend auto tries them) and the instruction sets the CPU kernels use on this machine.
std::string version_text() {
  std::string devices;
  for (cmdai::device::DeviceKind kind : cmdai::device::compiled_devices()) {
    devices += (devices.empty() ? "" : ", ") + std::string(cmdai::device::device_kind_name(kind));
  }
  const std::string build_type = CMDAI_BUILD_TYPE;
  return fmt::format("cmdai {} ({} build)\ndevices: {}\ninstruction sets: {}", CMDAI_VERSION,
                     build_type.empty() ? "unnamed" : build_type, devices,
                     cmdai::cpu_features().to_string());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cmdai::cli;
  CLI::App app{"cmdai: turn a plain-language request into one safe shell command", "cmdai"};
  app.set_version_flag("--version", version_text);
  app.footer(R"EX(Examples:
  cmdai find pdf files over 10MB in Downloads      show the command and its risk, then ask to run it
  cmdai -x -y show disk usage of this folder       run it without asking (blocked commands never run)
  cmdai --explain compress the logs folder         with a one-line explanation
  cmdai -o json list listening ports               one JSON object, for scripts
  echo "count lines in *.py" | cmdai -q            request from stdin, print only the command
  cmdai check 'rm -rf ~/'                          how risky is a command, and why
  cmdai --model ~/models/other.gguf list files     any Qwen2/Llama GGUF file
  eval "$(cmdai init bash)"                        then answer 'e' to edit the command on your prompt line

Requests that start with a subcommand's name (check, model, ...) need `--` first: cmdai -- check disk space
Exit codes: 0 ok, 2 usage, 3 blocked, 4 declined, 5 model missing, 6 generation failed, 7 bad model file,
8 network, 9 timeout, 10 file error, 130 interrupted; with -x, the command's own exit status.
More: docs/CLI.md)EX");
  CliContext context;
  app.add_flag("-v,--verbose", context.verbose, "Say more about what cmdai does");
  for (CommandSetup setup : registered_commands()) setup(app, context);
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
