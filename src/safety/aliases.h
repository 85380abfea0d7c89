// Aliases defined on the line: bash and zsh `alias x='...'` (zsh also global `-g` and suffix
// `-s` aliases), fish `alias` (a function) and `abbr`. A later command that uses one is read a
// second time with the alias replaced by its text, so `alias x='rm -rf'` then `x ~` is `rm -rf ~`.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "safety/dialect.h"
#include "safety/word_expansion.h"

namespace cmdai::safety {

struct AliasUse {
  std::string text;                // the command with the aliases replaced, to be read again
  std::vector<std::string> names;  // the aliases it replaced
};

class AliasTable {
 public:
  // Reads `alias`, `unalias` and fish `abbr` commands (expanded words, program first) and returns
  // the texts they define, which the shell may run as commands. Other commands return nothing.
  std::vector<std::string> record(const std::vector<Expanded>& words, Dialect dialect);

  // The command `words` becomes when an alias not in `active` applies to it (zsh, bash, fish
  // alike: when a definition on an earlier line may expand here is not modelled, so any earlier
  // definition counts); nullopt when none applies.
  std::optional<AliasUse> expand(const std::vector<Expanded>& words,
                                 const std::set<std::string>& active, Dialect dialect) const;

 private:
  std::vector<std::string> record_fish_abbr(const std::vector<Expanded>& words);
  std::map<std::string, std::string> plain_;   // replaces the command word
  std::map<std::string, std::string> global_;  // zsh -g: replaces any word
  std::map<std::string, std::string> suffix_;  // zsh -s: `file.SUFFIX` runs `VALUE file.SUFFIX`
};

}  // namespace cmdai::safety
