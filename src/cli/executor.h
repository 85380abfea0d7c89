// Runs a checked, confirmed command in the user's shell and passes its exit status through.
#pragma once

#include <string>

#include "base/result.h"

namespace cmdai::cli {

// Runs `shell -c command` with the terminal in the foreground. cmdai ignores Ctrl-C while the child
// runs (the child gets it, as in a shell). Returns the exit status, or 128 + signal number.
Result<int> run_in_shell(const std::string& command, const std::string& shell);

// The program to run commands with: $SHELL when it names `shell_name`, else `shell_name` on PATH,
// else /bin/sh.
std::string shell_program(const std::string& shell_name);

}  // namespace cmdai::cli
