// Shell lexer for the safety check: turns a POSIX-shell-like command line into simple commands
// (quotes removed, expansions kept as parts) with their redirections and pipeline positions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "safety/dialect.h"

namespace cmdai::safety {

enum class PartKind {
  kLiteral,       // text with quotes and escapes removed
  kVariable,      // $NAME or ${...}: text is the name, or the whole body of ${...}
  kCommandSubst,  // $(...) or `...`: text is the inner command line
  kProcessSubst,  // <(...) or >(...): text is the inner command line
  kArithmetic,    // $((...)): text is the expression
};

struct WordPart {
  PartKind kind = PartKind::kLiteral;
  std::string text;
  bool quoted = false;  // came from inside quotes, so it is neither globbed nor split
};

struct Word {
  std::vector<WordPart> parts;

  // The word as a person would read it: literals as-is, $NAME, $(inner), <(inner), $((expr)).
  std::string display() const;
  // True when the word is literal text only (no expansion of any kind).
  bool is_literal() const;
  // True when the word is exactly `text`, unquoted (how keywords such as `{` or `if` are spotted).
  bool is_bare(std::string_view text) const;
};

struct Redirection {
  int fd = -1;     // the explicit descriptor (`2>`), or -1 for the operator's default
  std::string op;  // ">", ">>", ">|", "<", "<>", "&>", "&>>", ">&", "<&", "<<", "<<<"
  Word target;     // the file, descriptor or here-string; for "<<" the here-document's body
};

// Position of a command inside one pipeline of two or more stages.
struct PipeStage {
  int pipeline_id = 0;
  int stage = 0;
};

struct SimpleCommand {
  std::vector<Word> assignments;  // NAME=value words before the program name
  std::vector<Word> words;        // the program and its arguments
  std::vector<Redirection> redirections;
  std::vector<PipeStage> pipes;  // every enclosing multi-stage pipeline, outermost first
  bool background = false;       // its and-or list ended with '&'
  std::string function_name;     // set when the command sits in this function's body
  // It may not run, or runs in a scope its variables do not outlive: after `&&`/`||`, inside
  // `if`/`while`/`for`/`case`, a subshell, a function body or a fish block.
  bool conditional = false;
};

struct ParsedLine {
  std::vector<SimpleCommand> commands;
  std::vector<std::string> functions;  // names of the functions the line defines
  // Words the shell expands outside any simple command: `case` subjects and patterns, `for`
  // lists and `(( ))` expressions (as one arithmetic part). Their substitutions run too.
  std::vector<Word> expanded_words;
};

// Lexes and parses `line`. Fails (kInvalidArgument) on unterminated quotes or substitutions,
// unbalanced brackets, dangling operators, nesting deeper than 64 levels or input over 64 KiB.
// The inner text of substitutions is validated here but returned unparsed in its WordPart.
// `dialect` picks the grammar: fish and zsh spell some things differently (see dialect.h).
Result<ParsedLine> lex_shell(std::string_view line, Dialect dialect = Dialect::kBash);

// Reads `text` the way the shell expands the body of an unquoted here-document: quotes are
// plain characters, while $NAME, ${...}, $(...), `...` and $((...)) are expansions. Used for
// here-documents, prompt strings and the operands of ${...} and $((...)).
Result<Word> lex_expanding_text(std::string_view text);

}  // namespace cmdai::safety
