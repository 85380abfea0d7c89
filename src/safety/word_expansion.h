// Word expansion for the safety check: what a shell word expands to as far as it can be known
// on the line alone ($HOME, variables set earlier, ${X:-default}, braces, fixed $(echo ...)).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safety/dialect.h"
#include "safety/shell_lexer.h"

namespace cmdai::safety {

constexpr size_t kMaxBraceWords = 64;
constexpr size_t kMaxBraceWordBytes = 1024;
constexpr size_t kMaxFanOut = 8;  // copies made for xargs -I or find -exec {} substitution

struct Expanded {
  std::string text;
  bool dynamic = false;     // holds a value that cannot be known here
  bool from_subst = false;  // holds a command or process substitution left unevaluated
  bool downloads = false;   // ... one that fetches from the network
  bool brace_candidate = false;
  bool split_candidate = false;       // an unquoted expansion produced blanks: the shell splits it
  bool glob = false;                  // unquoted *, ? or [...]: names are matched on the disk
  bool limit = false;                 // a brace expansion too large to follow
  std::string split_chars = " \t\n";  // $IFS when the line set it
};

using Vars = std::map<std::string, std::string, std::less<>>;

Expanded literal_word(std::string text);

// Paths through which a program reads its own standard input as a file.
bool names_stdin(std::string_view path);
// Generators whose output `eval` is meant to run: well-known shell set-up commands.
bool is_init_generator(std::string_view inner);
bool is_assignment_text(std::string_view text);
// The program a command runs once simple wrappers are skipped; "" when not literal.
std::string quick_program(const SimpleCommand& command);
// What `echo`, `printf` or `pwd` with literal arguments prints; nullopt when it cannot be known.
std::optional<std::string> literal_output(const SimpleCommand& command);
// The output of `$(inner)` when it is fixed (echo, printf, pwd with literal arguments).
std::optional<std::string> static_substitution(std::string_view inner, Dialect dialect);
// True when `line` runs a downloader, also inside its substitutions.
bool line_downloads(std::string_view line, int depth, Dialect dialect);
Expanded expand_word(const Word& word, const Vars& vars, Dialect dialect);
// Appends `word` to `words`, split on blanks and brace-expanded as the shell would.
void append_expanded(std::vector<Expanded>& words, Expanded word);
std::vector<std::vector<std::string>> fan_out_groups(const std::vector<std::string>& items);
std::vector<Expanded> substitute_items(const std::vector<Expanded>& words,
                                       const std::string& placeholder,
                                       const std::vector<std::string>& group);
std::vector<std::string> texts_of(const std::vector<Expanded>& words, size_t from = 0);
std::string join_texts(const std::vector<Expanded>& words, size_t from);

}  // namespace cmdai::safety
