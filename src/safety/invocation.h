// Invocation: one program run as the safety rules see it, after wrappers such as sudo, env,
// xargs or `bash -c` have been peeled off and the words expanded as far as can be known.
#pragma once

#include <string>
#include <vector>

namespace cmdai::safety {

struct RedirectionTarget {
  int fd = -1;         // explicit descriptor or -1
  std::string op;      // as in shell_lexer.h
  std::string target;  // expanded target text
};

struct Invocation {
  std::string program;            // basename of what runs ("rm"); empty for bare redirections
  std::string program_path;       // the program word as written ("/tmp/x", "./run.sh")
  std::vector<std::string> args;  // expanded arguments; unknown parts stay as "$X" / "$(...)"
  std::vector<std::string> assignments;  // NAME=value words: prefix or standalone assignments
  std::vector<RedirectionTarget> redirections;
  std::vector<std::string> wrappers;  // peeled wrappers, outermost first ("sudo", "xargs", ...)
  bool elevated = false;              // runs through sudo, doas or su
  bool program_dynamic = false;       // the name comes from an unknown variable
  bool program_from_substitution = false;  // the name is the output of a command substitution
  bool program_from_download = false;      // ... of one that fetches from the network
  bool operand_from_download = false;      // an argument is <(curl ...) or $(curl ...)
  bool stdin_from_download = false;        // stdin is fed by a network download
  bool stdin_opaque_pipe = false;          // stdin is a pipe whose content cannot be known
  bool args_from_stdin = false;            // xargs appends arguments read from stdin
  bool spawns_itself = false;              // inside function F, calls F piped or in the background
  bool program_unknown = false;     // a literal name the check does not know (see programs.h)
  bool program_user_tool = false;   // $EDITOR, $PAGER, ...: a variable naming the user's tool
  bool input_unknown = false;       // runs code or a command whose text cannot be known
  bool input_from_network = false;  // ... text that comes from the network
  bool dry_run = false;             // --help, --version or a dry-run flag: changes nothing
  bool limit_exceeded = false;      // too long or too deeply nested to be checked
  bool stdin_known = false;         // stdin is fixed text (here-string, echo | ...)
  std::string stdin_literal;        // ... that text
  bool stdin_is_code = false;       // an interpreter reads its program from that stdin
  std::string parse_error;          // non-empty when the (nested) line could not be parsed
  bool nul_byte = false;            // with parse_error: the line holds a NUL byte
};

}  // namespace cmdai::safety
