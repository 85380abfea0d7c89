// Tab-completion scripts for bash, zsh and fish, generated from the command line's own definition
// (command_tree.h): every subcommand and flag, with descriptions, and values where they are known.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/command_tree.h"

namespace cmdai::cli {

// nullopt for a shell we do not support.
std::optional<std::string> completion_script(const CommandInfo& root, std::string_view shell);

}  // namespace cmdai::cli
