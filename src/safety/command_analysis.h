// Command analysis: from a command line to every program it would run, with wrappers (sudo, env,
// xargs, find -exec, bash -c, eval, ssh, ...) peeled and nested command strings followed.
#pragma once

#include <string_view>
#include <vector>

#include "safety/dialect.h"
#include "safety/invocation.h"

namespace cmdai::safety {

// Never fails: a line (or nested string) that cannot be parsed yields an Invocation whose
// parse_error says why, so the rules can rate it. Nesting is followed 12 levels deep, at most
// 4096 invocations are returned and at most 1 MiB of nested text is analyzed; beyond that a
// parse_error invocation says the line was cut.
// `dialect` is the shell the line runs in; `bash -c`, `zsh -c`, `fish -c` ... strings inside it
// are read in their own shell's dialect.
std::vector<Invocation> analyze_command_line(std::string_view line, Dialect dialect);

}  // namespace cmdai::safety
