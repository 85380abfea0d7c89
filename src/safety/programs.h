// The vocabulary of program names the safety check knows: shells, interpreters, downloaders,
// wrappers that run the rest of their arguments, and everyday tools whose behaviour is known.
// A name outside this vocabulary is "unknown" and is rated by what its arguments look like.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace cmdai::safety {

// True when `name` is one of `names`.
bool is_any(std::string_view name, std::initializer_list<std::string_view> names);
// The last component of a program path: "/usr/bin/rm" -> "rm".
std::string basename_of(std::string_view path);

// "python3.12" -> "python", "bash5" -> "bash", "ksh93" -> "ksh": version suffixes removed from
// shells and interpreters (other names are returned unchanged).
std::string canonical_program(std::string_view name);

bool is_shell(std::string_view program);        // sh, bash, zsh, dash, fish, ...
bool is_interpreter(std::string_view program);  // python, perl, ruby, node, php, lua, ...
bool is_awk(std::string_view program);          // awk, gawk, mawk, nawk
// Programs whose output comes from the network (curl, wget, nc, ssh, ...).
bool is_network_source(std::string_view program);
// Programs that run their (non-option) arguments as a command: `firejail rm -rf ~`.
bool is_command_wrapper(std::string_view program);
// Every program the check knows how to read, dangerous or not: the rules, the wrappers and
// everyday tools (ls, grep, git, ...). Anything else is unknown.
bool is_known_program(std::string_view program);

}  // namespace cmdai::safety
