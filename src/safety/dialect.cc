#include "safety/dialect.h"

#include <cctype>
#include <string>

#include "safety/programs.h"

namespace cmdai::safety {

const char* dialect_name(Dialect dialect) {
  switch (dialect) {
    case Dialect::kBash:
      return "bash";
    case Dialect::kZsh:
      return "zsh";
    case Dialect::kFish:
      return "fish";
    case Dialect::kSh:
      return "sh";
  }
  return "bash";
}

std::optional<Dialect> dialect_of_shell(std::string_view shell) {
  std::string name = basename_of(shell);
  if (!name.empty() && name[0] == '-') name.erase(0, 1);  // a login shell's argv[0]: "-zsh"
  // Versioned names ("bash5", "zsh-5.9") read like their shell.
  while (!name.empty() && (std::isdigit(static_cast<unsigned char>(name.back())) ||
                           name.back() == '.' || name.back() == '-')) {
    name.pop_back();
  }
  if (name == "bash" || name == "rbash") return Dialect::kBash;
  if (name == "zsh") return Dialect::kZsh;
  if (name == "fish") return Dialect::kFish;
  if (name == "sh" || name == "dash" || name == "ash" || name == "ksh" || name == "mksh" ||
      name == "pdksh" || name == "posh" || name == "yash") {
    return Dialect::kSh;
  }
  return std::nullopt;
}

}  // namespace cmdai::safety
