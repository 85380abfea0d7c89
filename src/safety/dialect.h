// Shell dialects: the shell a command will run in decides how the safety check parses it
// (fish quoting and `(cmd)`, zsh `=cmd`, glob qualifiers and `{ ... }`, POSIX sh).
#pragma once

#include <optional>
#include <string_view>

namespace cmdai::safety {

enum class Dialect {
  kBash,
  kZsh,
  kFish,
  kSh,  // POSIX sh (dash, ash, ksh): read with bash's grammar, which is a superset of it
};

// "bash", "zsh", "fish", "sh".
const char* dialect_name(Dialect dialect);

// The dialect of a shell named by `shell` (a name or a path: "zsh", "/usr/bin/fish", "dash");
// nullopt for a shell the check cannot read (tcsh, nu, pwsh, ...).
std::optional<Dialect> dialect_of_shell(std::string_view shell);

}  // namespace cmdai::safety
