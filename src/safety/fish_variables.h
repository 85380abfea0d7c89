// fish variables for the safety check: `set` gives a variable a list of values, and an unquoted
// `$x` expands to one word per value (a word holding it once per value, `/$x` with x=(a b) is
// `/a /b`; an empty list removes the word). Values are tracked when known, else forgotten.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safety/shell_lexer.h"
#include "safety/word_expansion.h"

namespace cmdai::safety {

// A fish list kept in Vars: a marker byte, then each value followed by a separator byte.
// Plain Vars values ($HOME, ...) are lists of one value.
std::string encode_fish_list(const std::vector<std::string>& values);
std::vector<std::string> decode_fish_list(std::string_view stored);

// What one `set ...` command does to the variables: known lists are stored, everything that
// cannot be known (a value from a substitution, an index `x[1]`, a name from a variable, an
// erase, a command that may not run) is forgotten, so it expands as unknown later.
// `words` are the expanded words, `set` first. Returns `NAME=value` texts (values joined by
// blanks, as fish exports them) for the assignments whose value may be run as code (PAGER...).
std::vector<std::string> apply_fish_set(const std::vector<Expanded>& words, bool conditional,
                                        Vars& vars);

// Appends the words an unquoted fish word expands to: one per combination of the values of its
// known list variables (none when one of them is empty), at most kMaxBraceWords.
void append_fish_expanded(std::vector<Expanded>& words, const Word& word, const Vars& vars);

}  // namespace cmdai::safety
