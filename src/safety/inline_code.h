// Inline code handed to an interpreter on its command line (`python -c`, `perl -e`, `node -e`,
// awk programs, sed scripts, vim -c): what it visibly does. Nothing is parsed as the language;
// code is scanned for calls whose meaning is unambiguous, and anything that could do more than
// print or compute is reported as unknown rather than guessed at.
#pragma once

#include <string>
#include <vector>

#include "safety/invocation.h"

namespace cmdai::safety {

struct InlineCode {
  bool present = false;        // the invocation runs code given on its command line
  bool trivial = false;        // the code only prints, computes or filters text
  bool destroys = false;       // deletes a tree, or a system or home path
  bool remote_shell = false;   // a socket wired to a shell, /dev/tcp, pty.spawn
  bool runs_download = false;  // fetches code from the network and runs it
  bool runs_unknown = false;   // runs a shell command whose text is not a literal
  bool encoded = false;        // the code is encoded (pwsh -EncodedCommand), so unreadable
  std::vector<std::string> shell_commands;  // literal command lines given to system() & co.
  std::vector<std::string> codes;           // the code strings found on the command line
};

// `program` is the canonical name (see programs.h); `args` are its expanded arguments.
InlineCode scan_inline_code(const std::string& program, const std::vector<std::string>& args);

// As scan_inline_code, plus the program an interpreter reads from known stdin text
// (`python3 - <<'EOF'`, `perl <<< '...'`, `echo '...' | ruby`, `awk -f /dev/stdin <<< '...'`).
InlineCode scan_invocation_code(const Invocation& invocation);

}  // namespace cmdai::safety
