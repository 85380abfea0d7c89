#include "cli/app.h"

#include <fmt/format.h>

#include <string>

#include "base/cpu_features.h"
#include "device/device.h"

namespace cmdai::cli {
namespace {

// What a bug report needs: the version, how it was built, the devices compiled in (the order
// --backend auto tries them) and the instruction sets the CPU kernels use on this machine.
std::string version_text() {
  std::string devices;
  for (device::DeviceKind kind : device::compiled_devices()) {
    devices += (devices.empty() ? "" : ", ") + std::string(device::device_kind_name(kind));
  }
  const std::string build_type = CMDAI_BUILD_TYPE;
  return fmt::format("cmdai {} ({} build)\ndevices: {}\ninstruction sets: {}", CMDAI_VERSION,
                     build_type.empty() ? "unnamed" : build_type, devices,
                     cpu_features().to_string());
}

}  // namespace

void build_app(CLI::App& app, CliContext& context) {
  app.name("cmdai");
  app.description("cmdai: turn a plain-language request into one safe shell command");
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
  app.add_flag("-v,--verbose", context.verbose, "Say more about what cmdai does");
  for (CommandSetup setup : registered_commands()) setup(app, context);
}

}  // namespace cmdai::cli
