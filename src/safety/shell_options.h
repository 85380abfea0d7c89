// Shell options that change how later words are read: zsh `setopt`/`unsetopt`/`emulate`, bash
// `shopt`, `set -o` in both. The check reads words with the default options; after an option it
// does not model, what later words mean is unknown, so the line fails closed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "safety/dialect.h"

namespace cmdai::safety {

// When `words` (expanded, the program first) change a shell option that can change how later
// words are parsed or expanded, the option's name; nullopt for any other command and for the
// options known to leave the reading alone (errexit, nounset, pipefail, xtrace, noclobber, ...).
// An option named by a variable counts as changing the reading.
std::optional<std::string> option_changing_reading(const std::vector<std::string>& words,
                                                   const std::vector<bool>& dynamic,
                                                   Dialect dialect);

}  // namespace cmdai::safety
