// Runs a checked, confirmed command in the user's shell and passes its exit status through.
#pragma once

#include <string>

#include "base/result.h"

namespace cmdai::cli {

// Runs `shell -c command` in a process group of its own, which gets the terminal while it runs
// (Ctrl-C and reads reach the command, as with a shell's job). SIGTERM, SIGHUP, SIGINT and SIGQUIT
// sent to cmdai meanwhile are forwarded to that whole group and cmdai waits for it: nothing is
// orphaned. Returns the exit status, or 128 + signal number.
// With `stdout_to_stderr` the command's output goes to stderr, so that stdout carries only the
// JSON/YAML object in those output modes.
Result<int> run_in_shell(const std::string& command, const std::string& shell,
                         bool stdout_to_stderr = false);

// The program to run commands with: $SHELL when it names `shell_name`, else `shell_name` on PATH,
// else /bin/sh.
std::string shell_program(const std::string& shell_name);

}  // namespace cmdai::cli
