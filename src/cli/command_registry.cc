#include "cli/command_registry.h"

#include "cli/exit_codes.h"

namespace cmdai::cli {
namespace {

std::vector<CommandSetup>& table() {
  static std::vector<CommandSetup> commands;
  return commands;
}

}  // namespace

bool register_command(CommandSetup setup) {
  table().push_back(setup);
  return true;
}

const std::vector<CommandSetup>& registered_commands() { return table(); }

CLI::App* subcommand(CLI::App& parent, const std::string& name, const std::string& description) {
  for (CLI::App* existing : parent.get_subcommands({})) {
    if (existing->get_name() == name) return existing;
  }
  CLI::App* created = parent.add_subcommand(name, description);
  created->require_subcommand(0, 1);
  // `cmdai model` or `cmdai config` alone shows what the group offers instead of nothing.
  created->callback([created] {
    if (created->get_subcommands().empty()) throw CLI::CallForHelp();
  });
  return created;
}

int exit_code_for(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kNotFound:
      return kExitIo;
    case ErrorCode::kIo:
      return kExitIo;
    case ErrorCode::kCorruptFile:
    case ErrorCode::kUnsupported:
    case ErrorCode::kModelLoadFailed:
      return kExitModelInvalid;
    case ErrorCode::kTimeout:
      return kExitTimeout;
    case ErrorCode::kNetwork:
    case ErrorCode::kUnavailable:
      return kExitNetwork;
    case ErrorCode::kGenerationFailed:
      return kExitGenerationFailed;
    case ErrorCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitError;
  }
}

}  // namespace cmdai::cli
