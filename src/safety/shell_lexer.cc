#include "safety/shell_lexer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

namespace cmdai::safety {
namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr int kMaxDepth = 64;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_meta(char c) {
  return is_blank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>' ||
         c == '(' || c == ')';
}
bool is_name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class TokenKind { kWord, kOperator, kNewline, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string op;  // for kOperator
  int fd = -1;     // for redirection operators written as `2>`
  Word word;       // for kWord
  size_t begin = 0;
};

bool is_redirection(const std::string& op) {
  static constexpr std::array<std::string_view, 11> kOps = {">",   ">>", ">|", "<",  "<>", "&>",
                                                            "&>>", ">&", "<&", "<<", "<<<"};
  for (std::string_view candidate : kOps) {
    if (op == candidate) return true;
  }
  return op == "<<-";
}

// kBlockEnd: a fish block (`begin`, `if`, `for`, ...) or a zsh `foreach` stops at its `end`, and
// a fish block also at `else` or `case`.
enum class Stop { kEnd, kCloseParen, kCloseBrace, kCaseItem, kBlockEnd };

// Recursive-descent parser over the raw text; a nested instance parses each $( ... ).
class Parser {
 public:
  Parser(std::string_view src, size_t pos, int depth, Dialect dialect)
      : src_(src), pos_(pos), depth_(depth), dialect_(dialect) {}

  Result<ParsedLine> parse_line() {
    parse_list(Stop::kEnd);
    if (error_.empty() && peek().kind != TokenKind::kEnd) {
      fail("unexpected ')' with no matching '('");
    }
    if (!error_.empty()) {
      // Nesting past the limit is a limit of the check, not a malformed line.
      const bool limit = error_.find("nested too deeply") != std::string::npos;
      return make_error(limit ? ErrorCode::kResourceExhausted : ErrorCode::kInvalidArgument, "{}",
                        error_);
    }
    return std::move(line_);
  }

  // Parses the body of `$(` up to its `)`; returns the position just past it, or npos.
  size_t parse_until_close_paren(std::string* error) {
    parse_list(Stop::kCloseParen);
    if (error_.empty()) {
      const Token& close = peek();
      if (close.kind == TokenKind::kOperator && close.op == ")") {
        next();
        if (error_.empty()) {
          return pos_;
        }
      } else {
        fail("unterminated '$(' or '(': missing ')'");
      }
    }
    *error = error_;
    return std::string_view::npos;
  }

 private:
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  bool failed() const { return !error_.empty(); }

  // ---- Tokens ----

  bool fish() const { return dialect_ == Dialect::kFish; }
  bool zsh() const { return dialect_ == Dialect::kZsh; }
  // In fish `(` starts a command substitution inside a word, never a subshell.
  bool meta(char c) const { return is_meta(c) && !(c == '(' && fish()); }

  const Token& peek() {
    if (!lookahead_) lookahead_ = lex_token();
    return *lookahead_;
  }
  Token next() {
    peek();
    Token token = std::move(*lookahead_);
    lookahead_.reset();
    return token;
  }

  Token lex_token() {
    Token token;
    while (pos_ < src_.size()) {
      if (is_blank(src_[pos_])) {
        ++pos_;
      } else if (src_[pos_] == '\\' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else if (src_[pos_] == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
    token.begin = pos_;
    if (failed() || pos_ >= src_.size()) return token;
    const char c = src_[pos_];
    if (c == '\n') {
      ++pos_;
      if (heredoc_resume_ != std::string_view::npos && heredoc_resume_ > pos_)
        pos_ = heredoc_resume_;
      heredoc_resume_ = std::string_view::npos;
      token.kind = TokenKind::kNewline;
      return token;
    }
    if ((c == '<' || c == '>') && pos_ + 1 < src_.size() && src_[pos_ + 1] == '(' && !fish()) {
      token.kind = TokenKind::kWord;
      token.word = lex_word();
      return token;
    }
    size_t digits = 0;
    while (pos_ + digits < src_.size() && is_digit(src_[pos_ + digits])) ++digits;
    if (digits > 0 && digits <= 4 && pos_ + digits < src_.size() &&
        (src_[pos_ + digits] == '<' || src_[pos_ + digits] == '>')) {
      token.fd = std::stoi(std::string(src_.substr(pos_, digits)));
      pos_ += digits;
      token.kind = TokenKind::kOperator;
      token.op = lex_operator();
      return token;
    }
    if (meta(c)) {
      token.kind = TokenKind::kOperator;
      token.op = lex_operator();
      if (fish() && (token.op == "<<" || token.op == "<<<" || token.op == "<<-" ||
                     token.op == ";;" || token.op == "<>")) {
        fail(fmt::format("'{}' is not fish syntax", token.op));
      }
      return token;
    }
    token.kind = TokenKind::kWord;
    token.word = lex_word();
    return token;
  }

  std::string lex_operator() {
    if (const char* op = dialect_operator()) return op;
    static constexpr std::array<std::string_view, 21> kOps = {
        "&>>", "<<<", "<<-", "&&", "||", "|&", ";;", ";&", "&>", ">>", ">&",
        ">|",  "<<",  "<&",  "<>", "|",  "&",  ";",  "(",  ")",  "<"};
    for (std::string_view op : kOps) {
      if (src_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return std::string(op == ";&" ? ";;" : op);
      }
    }
    if (src_[pos_] == '>') {
      ++pos_;
      return ">";
    }
    fail("internal: no operator at this position");
    ++pos_;
    return "?";
  }

  // Operators only zsh or fish spell, returned as their bash equivalent; nullptr for none.
  const char* dialect_operator() {
    struct Spelling {
      std::string_view text;
      const char* op;
    };
    // zsh: `>!`/`>|` clobber, `&|`/`&!` disown, `;|` ends a case item.
    static constexpr std::array<Spelling, 9> kZsh = {{{"&>>!", "&>>"},
                                                      {"&>!", "&>"},
                                                      {">>!", ">>"},
                                                      {">>|", ">>"},
                                                      {">&!", ">&"},
                                                      {">!", ">|"},
                                                      {"&|", "&"},
                                                      {"&!", "&"},
                                                      {";|", ";;"}}};
    // fish: `&|` pipes stdout and stderr, `>?` and `<?` are no-clobber forms.
    static constexpr std::array<Spelling, 4> kFish = {
        {{"&|", "|&"}, {">>?", ">>"}, {">?", ">"}, {"<?", "<"}}};
    const auto find = [&](const auto& table) -> const char* {
      for (const Spelling& spelling : table) {
        if (src_.substr(pos_, spelling.text.size()) == spelling.text) {
          pos_ += spelling.text.size();
          return spelling.op;
        }
      }
      return nullptr;
    };
    if (zsh()) return find(kZsh);
    if (fish()) return find(kFish);
    return nullptr;
  }

  // ---- Words ----

  static void add_literal(Word& word, std::string_view text, bool quoted) {
    if (!word.parts.empty() && word.parts.back().kind == PartKind::kLiteral &&
        word.parts.back().quoted == quoted) {
      word.parts.back().text += text;
      return;
    }
    word.parts.push_back(WordPart{PartKind::kLiteral, std::string(text), quoted});
  }

  // `glob_group_start`: zsh, a word that starts with a `(` glob group (`ls (a|b)*`).
  Word lex_word(bool glob_group_start = false) {
    if (fish()) return lex_fish_word();
    Word word;
    while (pos_ < src_.size() && !failed()) {
      const char c = src_[pos_];
      if ((c == '<' || c == '>') && pos_ + 1 < src_.size() && src_[pos_ + 1] == '(') {
        pos_ += 2;
        word.parts.push_back(WordPart{PartKind::kProcessSubst, nested_substitution(), false});
        continue;
      }
      if (zsh() && lex_zsh_word_part(word, glob_group_start)) continue;
      if (is_meta(c)) break;
      if (c == '\\') {
        if (pos_ + 1 >= src_.size()) {
          add_literal(word, "\\", false);
          ++pos_;
        } else if (src_[pos_ + 1] == '\n') {
          pos_ += 2;
        } else {
          add_literal(word, src_.substr(pos_ + 1, 1), true);
          pos_ += 2;
        }
      } else if (c == '\'') {
        const size_t close = src_.find('\'', pos_ + 1);
        if (close == std::string_view::npos) {
          fail("unterminated single quote");
          break;
        }
        add_literal(word, src_.substr(pos_ + 1, close - pos_ - 1), true);
        pos_ = close + 1;
      } else if (c == '"') {
        ++pos_;
        lex_double_quoted(word);
      } else if (c == '$') {
        lex_dollar(word, false);
      } else if (c == '`') {
        lex_backtick(word);
      } else {
        add_literal(word, src_.substr(pos_, 1), false);
        ++pos_;
      }
    }
    return word;
  }

  // zsh-only word syntax at pos_: `=(cmd)` (a process substitution), `=cmd` at the start of a
  // word (the path of cmd, read as cmd) and `(...)` glob groups, whose trailing qualifiers
  // `e:code:` and `+func` run code for every file. Returns false when none is there.
  bool lex_zsh_word_part(Word& word, bool glob_group_start) {
    const char c = src_[pos_];
    const char n = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    if (c == '=' && word.parts.empty() && n == '(') {
      pos_ += 2;
      word.parts.push_back(WordPart{PartKind::kProcessSubst, nested_substitution(), false});
      return true;
    }
    if (c == '=' && word.parts.empty() && is_name_start(n)) {
      ++pos_;  // EQUALS: `=rm` is the full path of rm; its basename is what runs
      add_literal(word, "", false);
      return true;
    }
    // `name()` with nothing between the parentheses defines a function (`f(){ f|f& }`),
    // it is not a glob group: the word ends before the `(`.
    if (c == '(' && !word.parts.empty() && empty_parens_at(pos_)) return false;
    if (c == '(' && (!word.parts.empty() || glob_group_start)) {
      lex_zsh_glob_group(word);
      return true;
    }
    return false;
  }

  // At `(` inside a zsh word: the group up to its `)` is glob syntax. When it ends the word it
  // may be a list of glob qualifiers; their code is kept as command substitutions, so it is
  // analyzed, and the word's value stays unknown.
  void lex_zsh_glob_group(Word& word) {
    const size_t start = pos_;
    int open = 0;
    char quote = '\0';
    size_t i = pos_;
    for (; i < src_.size(); ++i) {
      const char c = src_[i];
      if (quote != '\0') {
        if (c == '\\' && quote == '"')
          ++i;
        else if (c == quote)
          quote = '\0';
      } else if (c == '\\') {
        ++i;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        ++open;
      } else if (c == ')' && --open == 0) {
        break;
      }
    }
    if (i >= src_.size()) {
      fail("unterminated '(' in a zsh glob pattern");
      return;
    }
    const std::string_view raw = src_.substr(start + 1, i - start - 1);
    pos_ = i + 1;
    add_literal(word, src_.substr(start, i + 1 - start), false);
    const bool ends_word = pos_ >= src_.size() || is_meta(src_[pos_]);
    std::string_view qualifiers = raw;
    if (qualifiers.substr(0, 2) == "#q") {
      qualifiers.remove_prefix(2);  // (#q...): explicit qualifiers, anywhere in the word
    } else if (!ends_word || has_unquoted_char(raw, "|")) {
      return;  // an ordinary group such as (a|b): zsh reads no qualifiers in it
    }
    // Quotes are removed before zsh reads the qualifiers: `e:'rm -rf ~':` runs `rm -rf ~`.
    Parser dequote(qualifiers, 0, depth_ + 1, dialect_);
    std::string plain;
    while (dequote.pos_ < qualifiers.size() && !dequote.failed()) {
      const size_t before = dequote.pos_;
      for (const WordPart& part : dequote.lex_word().parts) {
        plain += part.kind == PartKind::kLiteral ? part.text : Word{{part}}.display();
      }
      if (dequote.pos_ == before) plain += qualifiers[dequote.pos_++];  // a blank or operator
    }
    for (std::string& code : glob_qualifier_code(plain)) {
      word.parts.push_back(WordPart{PartKind::kCommandSubst, std::move(code), false});
    }
  }

  // True when `text` holds one of `chars` outside quotes and backslash escapes.
  static bool has_unquoted_char(std::string_view text, std::string_view chars) {
    char quote = '\0';
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (quote != '\0') {
        if (c == quote) quote = '\0';
      } else if (c == '\\') {
        ++i;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (chars.find(c) != std::string_view::npos) {
        return true;
      }
    }
    return false;
  }

  // The code zsh runs for glob qualifiers: `e` followed by a delimited string, `+name`.
  static std::vector<std::string> glob_qualifier_code(std::string_view text) {
    std::vector<std::string> code;
    for (size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '+') {
        size_t end = i + 1;
        while (end < text.size() && (is_name_char(text[end]) || text[end] == '-' ||
                                     text[end] == ':' || text[end] == '.')) {
          ++end;
        }
        code.push_back(std::string(text.substr(i + 1, end - i - 1)) + " \"$REPLY\"");
        i = end - 1;
      } else if ((c == 'e' || c == 'u' || c == 'g' || c == 'P' || c == 'f') &&
                 i + 1 < text.size() && !is_name_char(text[i + 1])) {
        const char open = text[i + 1];
        const char close = open == '('   ? ')'
                           : open == '[' ? ']'
                           : open == '{' ? '}'
                           : open == '<' ? '>'
                                         : open;
        size_t end = text.find(close, i + 2);
        if (end == std::string_view::npos) end = text.size();
        if (c == 'e') code.push_back(std::string(text.substr(i + 2, end - i - 2)));
        i = end;
      }
    }
    return code;
  }

  // A fish word: no backticks, `$(...)` and (unquoted) `(...)` substitute commands, single
  // quotes know `\'` and `\\`, and unquoted backslash escapes spell characters (`\x72m` is rm).
  Word lex_fish_word() {
    Word word;
    while (pos_ < src_.size() && !failed()) {
      const char c = src_[pos_];
      if (is_meta(c) && c != '(') break;
      if (c == '(') {
        ++pos_;
        word.parts.push_back(WordPart{PartKind::kCommandSubst, nested_substitution(), false});
      } else if (c == '\\') {
        lex_fish_escape(word);
      } else if (c == '\'') {
        std::string text;
        size_t i = pos_ + 1;
        for (; i < src_.size() && src_[i] != '\''; ++i) {
          if (src_[i] == '\\' && i + 1 < src_.size() &&
              (src_[i + 1] == '\'' || src_[i + 1] == '\\'))
            ++i;
          text += src_[i];
        }
        if (i >= src_.size()) {
          fail("unterminated single quote");
          break;
        }
        add_literal(word, text, true);
        pos_ = i + 1;
      } else if (c == '"') {
        ++pos_;
        lex_fish_double_quoted(word);
      } else if (c == '$') {
        lex_fish_dollar(word, false);
      } else {
        add_literal(word, src_.substr(pos_, 1), false);
        ++pos_;
      }
    }
    return word;
  }

  // At an unquoted backslash in fish.
  void lex_fish_escape(Word& word) {
    if (pos_ + 1 >= src_.size()) {
      add_literal(word, "\\", false);
      ++pos_;
      return;
    }
    const char e = src_[pos_ + 1];
    if (e == '\n') {
      pos_ += 2;
      return;
    }
    if (std::string_view("abefnrtvxXuUc01234567").find(e) == std::string_view::npos) {
      add_literal(word, src_.substr(pos_ + 1, 1), true);
      pos_ += 2;
      return;
    }
    // The same escapes as bash's $'...', which lex_ansi_c decodes; `\X` is `\x` in fish.
    std::string quoted = "\\";
    quoted += e == 'X' ? 'x' : e;
    size_t end = pos_ + 2;
    const bool octal = e >= '0' && e <= '7';
    const size_t max_digits = e == 'c'                        ? 1
                              : e == 'x' || e == 'X' || octal ? 2
                              : e == 'u'                      ? 4
                              : e == 'U'                      ? 8
                                                              : 0;
    while (end < src_.size() && end - pos_ - 2 < max_digits && !is_meta(src_[end]) &&
           std::string_view("\\'\"$").find(src_[end]) == std::string_view::npos) {
      quoted += src_[end++];
    }
    quoted += '\'';
    Parser decoder(quoted, 0, depth_ + 1, Dialect::kBash);
    Word decoded;
    decoder.lex_ansi_c(decoded);
    // Only the digits an escape uses are consumed; the rest of `quoted` is plain text.
    for (WordPart& part : decoded.parts) add_literal(word, part.text, true);
    pos_ = end;
  }

  // After the opening `"` in fish: `\"`, `\$`, `\\` and `\newline` are escapes, `$var` and
  // `$(...)` expand, anything else (backticks, `(`) is literal.
  void lex_fish_double_quoted(Word& word) {
    add_literal(word, "", true);
    while (!failed()) {
      if (pos_ >= src_.size()) {
        fail("unterminated double quote");
        return;
      }
      const char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\' && pos_ + 1 < src_.size() &&
          std::string_view("\"$\\\n").find(src_[pos_ + 1]) != std::string_view::npos) {
        if (src_[pos_ + 1] != '\n') add_literal(word, src_.substr(pos_ + 1, 1), true);
        pos_ += 2;
      } else if (c == '$') {
        lex_fish_dollar(word, true);
      } else {
        add_literal(word, src_.substr(pos_, 1), true);
        ++pos_;
      }
    }
  }

  // At `$` in fish: `$name`, `$name[index]`, `$$name` (a variable named by a variable, unknown
  // here) and `$(...)`. `${...}` is an error in fish.
  void lex_fish_dollar(Word& word, bool quoted) {
    const char n = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    if (n == '(') {
      pos_ += 2;
      word.parts.push_back(WordPart{PartKind::kCommandSubst, nested_substitution(), quoted});
      return;
    }
    if (n == '{') {
      fail("fish does not read ${...}; it is an error there");
      return;
    }
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] == '$') ++i;
    const size_t name_begin = i;
    while (i < src_.size() && is_name_char(src_[i])) ++i;
    if (i == name_begin) {
      add_literal(word, src_.substr(pos_, 1), quoted);
      ++pos_;
      return;
    }
    std::string name(src_.substr(name_begin, i - name_begin));
    if (name_begin > pos_ + 1) name = "!" + name;  // $$x: the value of the variable x names
    if (i < src_.size() && src_[i] == '[') {
      const size_t close = src_.find(']', i);
      const std::string_view index =
          src_.substr(i, close == std::string_view::npos ? std::string_view::npos : close - i);
      if (close == std::string_view::npos || index.find_first_of("($") != std::string_view::npos) {
        fail("a fish index with a substitution or no ']' is not read");
        return;
      }
      name = "!" + name;  // one element of a list: which one is not known here
      i = close + 1;
    }
    word.parts.push_back(WordPart{PartKind::kVariable, std::move(name), quoted});
    pos_ = i;
  }

  // After the opening quote; consumes the closing one.
  void lex_double_quoted(Word& word) {
    // An empty "" still makes the word exist, so record an empty quoted literal.
    add_literal(word, "", true);
    while (!failed()) {
      if (pos_ >= src_.size()) {
        fail("unterminated double quote");
        return;
      }
      const char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c == '\\' && pos_ + 1 < src_.size()) {
        const char escaped = src_[pos_ + 1];
        if (escaped == '\n') {
          pos_ += 2;
        } else if (escaped == '$' || escaped == '`' || escaped == '"' || escaped == '\\') {
          add_literal(word, src_.substr(pos_ + 1, 1), true);
          pos_ += 2;
        } else {
          add_literal(word, "\\", true);
          ++pos_;
        }
      } else if (c == '$') {
        lex_dollar(word, true);
      } else if (c == '`') {
        lex_backtick(word);
      } else {
        add_literal(word, src_.substr(pos_, 1), true);
        ++pos_;
      }
    }
  }

  // Up to the end of the text: here-document rules (see lex_expanding_text).
  void lex_expanding_body(Word& word) {
    add_literal(word, "", true);
    while (!failed() && pos_ < src_.size()) {
      const char c = src_[pos_];
      if (c == '\\' && pos_ + 1 < src_.size()) {
        const char escaped = src_[pos_ + 1];
        if (escaped == '\n') {
          pos_ += 2;
        } else if (escaped == '$' || escaped == '`' || escaped == '\\') {
          add_literal(word, src_.substr(pos_ + 1, 1), true);
          pos_ += 2;
        } else {
          add_literal(word, "\\", true);
          ++pos_;
        }
      } else if (c == '$') {
        lex_dollar(word, true);
      } else if (c == '`') {
        lex_backtick(word);
      } else {
        add_literal(word, src_.substr(pos_, 1), true);
        ++pos_;
      }
    }
  }

 public:
  Result<Word> parse_expanding_text() {
    Word word;
    lex_expanding_body(word);
    if (!error_.empty()) return make_error(ErrorCode::kInvalidArgument, "{}", error_);
    return word;
  }

 private:
  void lex_dollar(Word& word, bool quoted) {
    const char n = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    // zsh `$~x` (glob the value), `$=x` (split it), `$^x`: the value is that of x.
    if (zsh() && (n == '~' || n == '=' || n == '^') && pos_ + 2 < src_.size() &&
        (is_name_start(src_[pos_ + 2]) || src_[pos_ + 2] == '{')) {
      ++pos_;
      lex_dollar(word, quoted);
      return;
    }
    if (n == '\'' && !quoted) {
      pos_ += 2;
      lex_ansi_c(word);
    } else if (n == '"' && !quoted) {
      pos_ += 2;
      lex_double_quoted(word);
    } else if (n == '(' && pos_ + 2 < src_.size() && src_[pos_ + 2] == '(') {
      lex_arithmetic(word);
    } else if (n == '(') {
      pos_ += 2;
      word.parts.push_back(WordPart{PartKind::kCommandSubst, nested_substitution(), quoted});
    } else if (n == '{') {
      lex_braced_variable(word, quoted);
    } else if (is_name_start(n)) {
      size_t end = pos_ + 1;
      while (end < src_.size() && is_name_char(src_[end])) ++end;
      word.parts.push_back(WordPart{PartKind::kVariable,
                                    std::string(src_.substr(pos_ + 1, end - pos_ - 1)), quoted});
      pos_ = end;
    } else if (is_digit(n) ||
               (n != '\0' && std::string_view("@*#?$!-").find(n) != std::string_view::npos)) {
      word.parts.push_back(WordPart{PartKind::kVariable, std::string(1, n), quoted});
      pos_ += 2;
    } else {
      add_literal(word, "$", quoted);
      ++pos_;
    }
  }

  // At "$((": finds the matching "))" by counting parentheses.
  void lex_arithmetic(Word& word) {
    size_t i = pos_ + 3;
    int open = 2;
    while (i < src_.size() && open > 0) {
      if (src_[i] == '(') ++open;
      if (src_[i] == ')') --open;
      ++i;
    }
    if (open > 0) {
      fail("unterminated '$((' arithmetic expansion");
      return;
    }
    word.parts.push_back(
        WordPart{PartKind::kArithmetic, std::string(src_.substr(pos_ + 3, i - pos_ - 5)), false});
    pos_ = i;
  }

  void lex_braced_variable(Word& word, bool quoted) {
    // zsh `${~x}`, `${=x}`, `${^x}`: glob, split or rc-expand the value of x, which is the text.
    if (zsh() && pos_ + 3 < src_.size() &&
        std::string_view("~=^").find(src_[pos_ + 2]) != std::string_view::npos &&
        is_name_start(src_[pos_ + 3])) {
      ++pos_;
    }
    size_t i = pos_ + 2;
    int open = 1;
    char quote = '\0';
    while (i < src_.size() && open > 0) {
      const char c = src_[i];
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (quote != '\0') {
        if (c == quote) quote = '\0';
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '{') {
        ++open;
      } else if (c == '}') {
        --open;
      }
      ++i;
    }
    if (open > 0) {
      fail("unterminated '${' parameter expansion");
      return;
    }
    word.parts.push_back(
        WordPart{PartKind::kVariable, std::string(src_.substr(pos_ + 2, i - pos_ - 3)), quoted});
    pos_ = i;
  }

  // At "`": the inner text has \\, \` and \$ unescaped, as the shell does before running it.
  void lex_backtick(Word& word) {
    std::string inner;
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] != '`') {
      if (src_[i] == '\\' && i + 1 < src_.size() &&
          (src_[i + 1] == '`' || src_[i + 1] == '\\' || src_[i + 1] == '$')) {
        inner += src_[i + 1];
        i += 2;
        continue;
      }
      inner += src_[i++];
    }
    if (i >= src_.size()) {
      fail("unterminated backtick command substitution");
      return;
    }
    Parser check(inner, 0, depth_ + 1, dialect_);
    if (depth_ + 1 > kMaxDepth) {
      fail("command nested too deeply");
      return;
    }
    auto parsed = check.parse_line();
    if (!parsed.ok()) {
      fail("in backtick substitution: " + parsed.error().message);
      return;
    }
    word.parts.push_back(WordPart{PartKind::kCommandSubst, std::move(inner), false});
    pos_ = i + 1;
  }

  // After "$(", "<(" or ">(": parses up to the matching ")" and returns the inner text.
  std::string nested_substitution() {
    if (depth_ + 1 > kMaxDepth) {
      fail("command nested too deeply");
      return {};
    }
    const size_t start = pos_;
    Parser inner(src_, pos_, depth_ + 1, dialect_);
    std::string inner_error;
    const size_t end = inner.parse_until_close_paren(&inner_error);
    if (end == std::string_view::npos) {
      fail(inner_error);
      pos_ = src_.size();
      return {};
    }
    pos_ = end;
    return std::string(src_.substr(start, end - 1 - start));
  }

  // After "$'": ANSI-C quoting, where \xHH, \NNN, \uHHHH and friends spell characters.
  void lex_ansi_c(Word& word) {
    std::string text;
    while (true) {
      if (pos_ >= src_.size()) {
        fail("unterminated $'...' string");
        return;
      }
      const char c = src_[pos_++];
      if (c == '\'') break;
      if (c != '\\' || pos_ >= src_.size()) {
        text += c;
        continue;
      }
      const char e = src_[pos_++];
      switch (e) {
        case 'a':
          text += '\a';
          break;
        case 'b':
          text += '\b';
          break;
        case 'e':
        case 'E':
          text += '\x1b';
          break;
        case 'f':
          text += '\f';
          break;
        case 'n':
          text += '\n';
          break;
        case 'r':
          text += '\r';
          break;
        case 't':
          text += '\t';
          break;
        case 'v':
          text += '\v';
          break;
        case 'c':
          if (pos_ < src_.size()) text += static_cast<char>(src_[pos_++] & 0x1F);
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int max_digits = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
          uint32_t value = 0;
          int n = 0;
          while (n < max_digits && pos_ < src_.size() && hex_value(src_[pos_]) >= 0) {
            value = value * 16 + static_cast<uint32_t>(hex_value(src_[pos_++]));
            ++n;
          }
          if (n == 0) {
            text += '\\';
            text += e;
          } else if (e == 'x') {
            text += static_cast<char>(value);
          } else {
            append_utf8(text, value);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t value = static_cast<uint32_t>(e - '0');
            for (int n = 1; n < 3 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
                 ++n) {
              value = value * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            }
            text += static_cast<char>(value & 0xFF);
          } else {
            text += e;  // \\ \' \" \? and unknown escapes keep the character
          }
      }
    }
    add_literal(word, text, true);
  }

  // ---- Grammar ----

  bool at_stop(Stop stop) {
    const Token& token = peek();
    if (token.kind == TokenKind::kEnd) return true;
    if (token.kind == TokenKind::kOperator && token.op == ")") return true;  // caller decides
    if (stop == Stop::kCloseBrace && token.kind == TokenKind::kWord && token.word.is_bare("}")) {
      return true;
    }
    if (stop == Stop::kBlockEnd && token.kind == TokenKind::kWord &&
        (token.word.is_bare("end") ||
         (fish() && (token.word.is_bare("else") || token.word.is_bare("case"))))) {
      return true;
    }
    if (stop == Stop::kCaseItem) {
      if (token.kind == TokenKind::kOperator && token.op == ";;") return true;
      if (token.kind == TokenKind::kWord && token.word.is_bare("esac")) return true;
    }
    return false;
  }

  void parse_list(Stop stop) {
    while (!failed()) {
      while (peek().kind == TokenKind::kNewline ||
             (peek().kind == TokenKind::kOperator && peek().op == ";")) {
        next();
      }
      if (failed() || at_stop(stop)) return;
      const size_t first = line_.commands.size();
      parse_and_or();
      if (failed()) return;
      const Token& token = peek();
      if (token.kind == TokenKind::kOperator && (token.op == ";" || token.op == "&")) {
        if (token.op == "&") {
          for (size_t i = first; i < line_.commands.size(); ++i)
            line_.commands[i].background = true;
        }
        next();
      } else if (token.kind == TokenKind::kNewline) {
        next();
      } else if (!at_stop(stop)) {
        fail(fmt::format("unexpected '{}'", describe(token)));
      }
    }
  }

  std::string describe(const Token& token) const {
    if (token.kind == TokenKind::kOperator) return token.op;
    if (token.kind == TokenKind::kWord) return token.word.display();
    return "end of line";
  }

  void parse_and_or() {
    const bool saved_tail = and_or_tail_;
    parse_pipeline();
    while (!failed()) {
      const Token& token = peek();
      if (token.kind != TokenKind::kOperator || (token.op != "&&" && token.op != "||")) break;
      and_or_tail_ = true;
      next();
      while (peek().kind == TokenKind::kNewline) next();
      if (peek().kind == TokenKind::kEnd) {
        fail("the line ends after '&&' or '||'");
        break;
      }
      parse_pipeline();
    }
    and_or_tail_ = saved_tail;
  }

  void parse_pipeline() {
    if (peek().kind == TokenKind::kWord && peek().word.is_bare("!")) next();
    const int id = next_pipeline_id_++;
    const size_t first = line_.commands.size();
    int stage = 0;
    while (!failed()) {
      pipe_stack_.push_back(PipeStage{id, stage});
      const size_t before = line_.commands.size();
      parse_command();
      pipe_stack_.pop_back();
      if (failed()) return;
      const Token& token = peek();
      const bool is_pipe =
          token.kind == TokenKind::kOperator && (token.op == "|" || token.op == "|&");
      if (!is_pipe) break;
      if (line_.commands.size() == before && stage == 0) {
        fail("'|' with no command before it");
        return;
      }
      next();
      while (peek().kind == TokenKind::kNewline) next();
      const Token& after = peek();
      if (after.kind == TokenKind::kEnd ||
          (after.kind == TokenKind::kOperator && !is_redirection(after.op) && after.op != "(")) {
        fail("'|' with no command after it");
        return;
      }
      ++stage;
    }
    if (stage == 0) {
      for (size_t i = first; i < line_.commands.size(); ++i) {
        auto& pipes = line_.commands[i].pipes;
        std::erase_if(pipes, [id](const PipeStage& p) { return p.pipeline_id == id; });
      }
    }
  }

  void parse_command() {
    if (++depth_ > kMaxDepth) {
      fail("command nested too deeply");
      return;
    }
    parse_command_body();
    --depth_;
  }

  void parse_command_body() {
    const Token& token = peek();
    if (token.kind == TokenKind::kOperator && token.op == "(") {
      parse_subshell_or_arithmetic();
      return;
    }
    if (token.kind != TokenKind::kWord) {
      if (token.kind == TokenKind::kOperator && is_redirection(token.op)) {
        parse_simple_command();
        return;
      }
      if (token.kind == TokenKind::kOperator && token.op == ")") return;  // empty; caller handles
      fail(fmt::format("unexpected '{}'", describe(token)));
      return;
    }
    const Word& word = token.word;
    if (word.is_bare("{")) {
      next();
      parse_group(Stop::kCloseBrace);
      return;
    }
    if (fish()) {
      if (!parse_fish_keyword(word)) parse_simple_command();
      return;
    }
    if (zsh() && parse_zsh_keyword(word)) return;
    for (std::string_view keyword : {"if", "then", "elif", "else", "do", "while", "until", "!"}) {
      if (word.is_bare(keyword)) {
        if (keyword == "if" || keyword == "while" || keyword == "until") {
          block_starts_.push_back(line_.commands.size());
        }
        next();
        if (peek().kind == TokenKind::kNewline) return;
        parse_command();
        return;
      }
    }
    for (std::string_view keyword : {"fi", "done", "esac"}) {
      if (word.is_bare(keyword)) {
        next();
        // `done > file` redirects the whole loop, so it applies to every command since `while`.
        size_t first = line_.commands.size();
        if (keyword != "esac" && !block_starts_.empty()) {
          first = block_starts_.back();
          block_starts_.pop_back();
        }
        parse_trailing_redirections(first);
        return;
      }
    }
    if (word.is_bare("time") || word.is_bare("coproc")) {
      // `time { ...; }`, `coproc NAME { ...; }`: keywords in front of a command, even a compound
      // one. A plain `time cmd` is left to the analysis, which peels it like a wrapper.
      const bool coproc = word.is_bare("coproc");
      const size_t after = src_.find_first_not_of(" \t", pos_);
      const bool compound_next =
          after != std::string_view::npos && (src_[after] == '{' || src_[after] == '(');
      if (!coproc && !compound_next && !(after < src_.size() && src_[after] == '-')) {
        parse_simple_command();
        return;
      }
      next();
      if (!coproc) {
        while (peek().kind == TokenKind::kWord && peek().word.is_bare("-p")) next();
      } else if (!compound_next && peek().kind == TokenKind::kWord) {
        // `coproc NAME { ...; }` names the coprocess; `coproc cmd args` runs cmd.
        const size_t name_end = pos_;
        const size_t brace = src_.find_first_not_of(" \t", name_end);
        if (brace != std::string_view::npos && (src_[brace] == '{' || src_[brace] == '(')) next();
      }
      parse_command();
      return;
    }
    if (word.is_bare("for") || word.is_bare("select")) {
      // The loop header runs nothing; only the body after `do` does.
      block_starts_.push_back(line_.commands.size());
      while (peek().kind == TokenKind::kWord) line_.expanded_words.push_back(next().word);
      if (zsh() && peek().kind == TokenKind::kOperator && peek().op == "(" &&
          !(peek().begin + 1 < src_.size() && src_[peek().begin + 1] == '(')) {
        // zsh `for x (a b) cmd`: a word list in parentheses, then the body.
        parse_word_list_in_parens();
        if (peek().kind == TokenKind::kWord) parse_command();
        return;
      }
      // for (( init; test; step )): an arithmetic header.
      if (peek().kind == TokenKind::kOperator && peek().op == "(") parse_subshell_or_arithmetic();
      return;
    }
    if (word.is_bare("case")) {
      parse_case();
      return;
    }
    if (word.is_bare("function")) {
      next();
      if (peek().kind != TokenKind::kWord) {
        fail("'function' without a name");
        return;
      }
      std::string name = next().word.display();
      if (peek().kind == TokenKind::kOperator && peek().op == "(") {
        next();
        if (peek().kind != TokenKind::kOperator || peek().op != ")") {
          fail("expected ')' after 'function " + name + " ('");
          return;
        }
        next();
      }
      parse_function_body(std::move(name));
      return;
    }
    parse_simple_command();
  }

  // fish: `begin`, `if`, `while`, `for`, `switch` and `function` blocks up to `end`, and the
  // prefixes `and`, `or`, `not`, `!`, `time`. False when `word` is no fish keyword.
  bool parse_fish_keyword(const Word& word) {
    for (std::string_view prefix : {"and", "or", "not", "!", "time"}) {
      if (word.is_bare(prefix)) {
        next();
        const bool saved_tail = and_or_tail_;
        and_or_tail_ |= prefix == "and" || prefix == "or";
        parse_command();
        and_or_tail_ = saved_tail;
        return true;
      }
    }
    for (std::string_view block : {"begin", "if", "while", "for", "switch", "function"}) {
      if (word.is_bare(block)) {
        parse_fish_block();
        return true;
      }
    }
    for (std::string_view stray : {"end", "else", "case"}) {
      if (word.is_bare(stray)) {
        fail(fmt::format("'{}' outside a fish block", stray));
        return true;
      }
    }
    return false;
  }

  void parse_fish_block() {
    ++scope_depth_;
    parse_fish_block_body();
    --scope_depth_;
  }

  void parse_fish_block_body() {
    const std::string keyword = next().word.display();
    const size_t first = line_.commands.size();
    std::string saved_function = function_name_;
    if (keyword == "for" || keyword == "switch") {
      while (peek().kind == TokenKind::kWord) line_.expanded_words.push_back(next().word);
    } else if (keyword == "function") {
      if (peek().kind != TokenKind::kWord) {
        fail("'function' without a name");
        return;
      }
      function_name_ = next().word.display();
      line_.functions.push_back(function_name_);
      while (peek().kind == TokenKind::kWord) next();  // -d DESCRIPTION, --on-event, ...
    }
    // `if COND; ...`, `while COND; ...`: the condition is the first command of the body.
    while (!failed()) {
      parse_list(Stop::kBlockEnd);
      if (failed()) break;
      const Token& token = peek();
      if (token.kind == TokenKind::kWord && token.word.is_bare("end")) {
        next();
        break;
      }
      if (keyword == "if" && token.kind == TokenKind::kWord && token.word.is_bare("else")) {
        next();
        if (peek().kind == TokenKind::kWord && peek().word.is_bare("if")) next();
        continue;
      }
      if (keyword == "switch" && token.kind == TokenKind::kWord && token.word.is_bare("case")) {
        next();
        while (peek().kind == TokenKind::kWord) line_.expanded_words.push_back(next().word);
        continue;
      }
      fail(fmt::format("fish '{}' without 'end'", keyword));
    }
    function_name_ = std::move(saved_function);
    parse_trailing_redirections(first);
  }

  // zsh: `repeat N cmd`, `foreach x (words) ... end`. False when `word` is neither.
  bool parse_zsh_keyword(const Word& word) {
    if (word.is_bare("repeat")) {
      next();
      if (peek().kind == TokenKind::kWord) line_.expanded_words.push_back(next().word);
      ++scope_depth_;
      parse_command();
      --scope_depth_;
      return true;
    }
    if (!word.is_bare("foreach")) return false;
    next();
    const size_t first = line_.commands.size();
    if (peek().kind == TokenKind::kWord) next();  // the loop variable
    if (peek().kind != TokenKind::kOperator || peek().op != "(") {
      fail("'foreach' without a '(' word list");
      return true;
    }
    parse_word_list_in_parens();
    ++scope_depth_;
    parse_list(Stop::kBlockEnd);
    --scope_depth_;
    if (failed()) return true;
    if (peek().kind != TokenKind::kWord || !peek().word.is_bare("end")) {
      fail("'foreach' without 'end'");
      return true;
    }
    next();
    parse_trailing_redirections(first);
    return true;
  }

  // At `(`: words up to `)`, which the shell expands (zsh `for x (...)`, `foreach x (...)`).
  void parse_word_list_in_parens() {
    next();
    while (peek().kind == TokenKind::kWord || peek().kind == TokenKind::kNewline) {
      Token token = next();
      if (token.kind == TokenKind::kWord) line_.expanded_words.push_back(std::move(token.word));
    }
    if (peek().kind != TokenKind::kOperator || peek().op != ")") {
      fail("unterminated word list: missing ')'");
      return;
    }
    next();
  }

  void parse_subshell_or_arithmetic() {
    const size_t begin = peek().begin;
    if (begin + 1 < src_.size() && src_[begin + 1] == '(') {
      // (( expression )): arithmetic, but its $(...) and a[$(...)] subscripts run.
      size_t i = begin + 2;
      int open = 2;
      while (i < src_.size() && open > 0) {
        if (src_[i] == '(') ++open;
        if (src_[i] == ')') --open;
        ++i;
      }
      if (open > 0) {
        fail("unterminated '((' arithmetic command");
        return;
      }
      Word expression;
      expression.parts.push_back(WordPart{
          PartKind::kArithmetic, std::string(src_.substr(begin + 2, i - begin - 4)), false});
      line_.expanded_words.push_back(std::move(expression));
      lookahead_.reset();
      pos_ = i;
      return;
    }
    next();
    const size_t first = line_.commands.size();
    ++scope_depth_;  // a subshell: its variables and `cd` end with it
    parse_list(Stop::kCloseParen);
    --scope_depth_;
    if (failed()) return;
    if (peek().kind != TokenKind::kOperator || peek().op != ")") {
      fail("unbalanced '(': missing ')'");
      return;
    }
    next();
    parse_trailing_redirections(first);
  }

  void parse_group(Stop stop) {
    const size_t first = line_.commands.size();
    ++brace_depth_;
    parse_list(stop);
    --brace_depth_;
    if (failed()) return;
    if (peek().kind != TokenKind::kWord || !peek().word.is_bare("}")) {
      fail("unbalanced '{': missing '}'");
      return;
    }
    next();
    parse_trailing_redirections(first);
    // zsh `{ try } always { finally }`: both lists run.
    if (zsh() && peek().kind == TokenKind::kWord && peek().word.is_bare("always")) {
      next();
      if (peek().kind != TokenKind::kWord || !peek().word.is_bare("{")) {
        fail("'always' without a '{' list");
        return;
      }
      next();
      parse_group(stop);
    }
  }

  // Redirections after `)`, `}` or `done` apply to every command inside.
  void parse_trailing_redirections(size_t first) {
    while (!failed() && peek().kind == TokenKind::kOperator && is_redirection(peek().op)) {
      Redirection redirection = parse_redirection();
      for (size_t i = first; i < line_.commands.size(); ++i) {
        line_.commands[i].redirections.push_back(redirection);
      }
    }
  }

  void parse_case() {
    next();  // case
    if (peek().kind == TokenKind::kWord) line_.expanded_words.push_back(next().word);
    while (peek().kind == TokenKind::kNewline) next();
    if (peek().kind == TokenKind::kWord && peek().word.is_bare("in")) next();
    while (!failed()) {
      while (peek().kind == TokenKind::kNewline) next();
      const Token& token = peek();
      if (token.kind == TokenKind::kEnd) {
        fail("'case' without 'esac'");
        return;
      }
      if (token.kind == TokenKind::kWord && token.word.is_bare("esac")) {
        next();
        return;
      }
      if (token.kind == TokenKind::kOperator && token.op == "(") next();
      while (!failed() && (peek().kind == TokenKind::kWord ||
                           (peek().kind == TokenKind::kOperator && peek().op == "|"))) {
        Token pattern = next();
        if (pattern.kind == TokenKind::kWord) line_.expanded_words.push_back(pattern.word);
      }
      if (peek().kind != TokenKind::kOperator || peek().op != ")") {
        fail("malformed 'case' pattern: expected ')'");
        return;
      }
      next();
      ++scope_depth_;
      parse_list(Stop::kCaseItem);
      --scope_depth_;
      if (peek().kind == TokenKind::kOperator && peek().op == ")") {
        fail("unexpected ')' in 'case'");
        return;
      }
      if (peek().kind == TokenKind::kOperator && peek().op == ";;") next();
    }
  }

  void parse_function_body(std::string name) {
    while (peek().kind == TokenKind::kNewline) next();
    std::string saved = std::move(function_name_);
    function_name_ = name;
    line_.functions.push_back(std::move(name));
    parse_command();
    function_name_ = std::move(saved);
  }

  static bool is_assignment(const Word& word) {
    if (word.parts.empty() || word.parts[0].kind != PartKind::kLiteral || word.parts[0].quoted) {
      return false;
    }
    const std::string& text = word.parts[0].text;
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || !is_name_start(text[0])) return false;
    for (size_t i = 0; i < eq; ++i) {
      if (!is_name_char(text[i]) && !(text[i] == '+' && i + 1 == eq)) return false;
    }
    return true;
  }

  Redirection parse_redirection() {
    Token token = next();
    Redirection redirection;
    redirection.fd = token.fd;
    redirection.op = token.op == "<<-" ? "<<" : token.op;
    if (peek().kind != TokenKind::kWord) {
      fail(fmt::format("redirection '{}' without a target", token.op));
      return redirection;
    }
    Token target = next();
    if (redirection.op == "<<") {
      std::string body = read_heredoc(target.word);
      const bool quoted_delimiter = std::any_of(target.word.parts.begin(), target.word.parts.end(),
                                                [](const WordPart& part) { return part.quoted; });
      if (quoted_delimiter) {
        redirection.target.parts.push_back(WordPart{PartKind::kLiteral, std::move(body), true});
      } else {
        // An unquoted delimiter: the body's $(...), `...` and $VAR are expanded.
        Parser inner(body, 0, depth_ + 1, dialect_);
        auto word = inner.parse_expanding_text();
        if (!word.ok()) {
          fail("in a here-document: " + word.error().message);
          return redirection;
        }
        redirection.target = std::move(*word);
      }
    } else {
      redirection.target = std::move(target.word);
    }
    return redirection;
  }

  // The here-document body starts on the line after the current one; the tokenizer skips it
  // when it reaches that newline.
  std::string read_heredoc(const Word& delimiter_word) {
    std::string delimiter;
    for (const WordPart& part : delimiter_word.parts) delimiter += part.text;
    size_t start = heredoc_resume_;
    if (start == std::string_view::npos) {
      const size_t newline = src_.find('\n', pos_);
      start = newline == std::string_view::npos ? src_.size() : newline + 1;
    }
    std::string body;
    size_t i = start;
    while (i < src_.size()) {
      size_t end = src_.find('\n', i);
      if (end == std::string_view::npos) end = src_.size();
      std::string_view line = src_.substr(i, end - i);
      while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
      i = end < src_.size() ? end + 1 : end;
      if (line == delimiter) break;
      body += line;
      body += '\n';
    }
    heredoc_resume_ = i;
    return body;
  }

  // `name=(a b c)`: the array's words are values, not commands.
  void skip_array_value(Word& assignment) {
    const std::string& first = assignment.parts[0].text;
    if (assignment.parts.size() != 1 || first.back() != '=') return;
    if (peek().kind != TokenKind::kOperator || peek().op != "(") return;
    next();
    while (!failed() && (peek().kind == TokenKind::kWord || peek().kind == TokenKind::kNewline)) {
      Token value = next();
      if (value.kind == TokenKind::kWord) {
        for (WordPart& part : value.word.parts) assignment.parts.push_back(std::move(part));
      }
    }
    if (peek().kind != TokenKind::kOperator || peek().op != ")") {
      fail("unterminated array assignment: missing ')'");
      return;
    }
    next();
  }

  void parse_simple_command() {
    SimpleCommand command;
    while (!failed()) {
      const Token& token = peek();
      if (token.kind == TokenKind::kWord) {
        // zsh closes `{ cmd }` without a `;` before the `}`.
        if (zsh() && brace_depth_ > 0 && !command.words.empty() && token.word.is_bare("}")) break;
        if (command.words.empty() && is_assignment(token.word)) {
          command.assignments.push_back(next().word);
          skip_array_value(command.assignments.back());
          continue;
        }
        command.words.push_back(next().word);
        // declare -A map=(...): an array value after the command name.
        if (command.words.size() > 1 && is_assignment(command.words.back())) {
          skip_array_value(command.words.back());
          continue;
        }
        if (command.words.size() == 1 && command.assignments.empty() &&
            peek().kind == TokenKind::kOperator && peek().op == "(" &&
            !(zsh() && !empty_parens_follow())) {
          next();
          if (peek().kind != TokenKind::kOperator || peek().op != ")") {
            fail("unexpected '(' after a word");
            return;
          }
          next();
          parse_function_body(command.words[0].display());
          return;
        }
      } else if (token.kind == TokenKind::kOperator && is_redirection(token.op)) {
        command.redirections.push_back(parse_redirection());
      } else if (zsh() && token.kind == TokenKind::kOperator && token.op == "(" &&
                 !command.words.empty()) {
        // zsh `ls (a|b)*`: a glob group, not a subshell.
        pos_ = token.begin;
        lookahead_.reset();
        command.words.push_back(lex_word(/*glob_group_start=*/true));
      } else {
        break;
      }
    }
    if (command.words.empty() && command.assignments.empty() && command.redirections.empty()) {
      return;
    }
    command.pipes = pipe_stack_;
    command.function_name = function_name_;
    command.conditional =
        and_or_tail_ || scope_depth_ > 0 || !block_starts_.empty() || !function_name_.empty();
    line_.commands.push_back(std::move(command));
  }

  // At the `(` token: true when only blanks stand between it and a `)` (`name ()`).
  bool empty_parens_at(size_t open) const {
    const size_t after = src_.find_first_not_of(" \t", open + 1);
    return after != std::string_view::npos && src_[after] == ')';
  }
  bool empty_parens_follow() const {
    const size_t after = src_.find_first_not_of(" \t", peek_begin() + 1);
    return after != std::string_view::npos && src_[after] == ')';
  }
  size_t peek_begin() const { return lookahead_ ? lookahead_->begin : pos_; }

  std::string_view src_;
  size_t pos_ = 0;
  int depth_ = 0;
  Dialect dialect_ = Dialect::kBash;
  int brace_depth_ = 0;  // open `{ ... }` groups: zsh closes them at a bare `}` word
  std::optional<Token> lookahead_;
  std::string error_;
  size_t heredoc_resume_ = std::string_view::npos;
  int next_pipeline_id_ = 0;
  std::vector<PipeStage> pipe_stack_;
  std::vector<size_t> block_starts_;  // first command of each open if/while/until/for
  std::string function_name_;
  bool and_or_tail_ = false;  // parsing a pipeline after `&&`/`||` (fish: `and`/`or`)
  int scope_depth_ = 0;       // open subshells, `case` items, fish blocks, zsh loops
  ParsedLine line_;
};

}  // namespace

std::string Word::display() const {
  std::string out;
  for (const WordPart& part : parts) {
    switch (part.kind) {
      case PartKind::kLiteral:
        out += part.text;
        break;
      case PartKind::kVariable:
        if (!part.text.empty() && std::all_of(part.text.begin(), part.text.end(), is_name_char)) {
          out.append("$").append(part.text);
        } else {
          out.append("${").append(part.text).append("}");
        }
        break;
      case PartKind::kCommandSubst:
        out.append("$(").append(part.text).append(")");
        break;
      case PartKind::kProcessSubst:
        out.append("<(").append(part.text).append(")");
        break;
      case PartKind::kArithmetic:
        out.append("$((").append(part.text).append("))");
        break;
    }
  }
  return out;
}

bool Word::is_literal() const {
  for (const WordPart& part : parts) {
    if (part.kind != PartKind::kLiteral) return false;
  }
  return true;
}

bool Word::is_bare(std::string_view text) const {
  return parts.size() == 1 && parts[0].kind == PartKind::kLiteral && !parts[0].quoted &&
         parts[0].text == text;
}

Result<ParsedLine> lex_shell(std::string_view line, Dialect dialect) {
  if (line.size() > kMaxLineBytes) {
    return make_error(ErrorCode::kResourceExhausted,
                      "the command is {} bytes long; the safety check reads at most {}",
                      line.size(), kMaxLineBytes);
  }
  Parser parser(line, 0, 0, dialect);
  return parser.parse_line();
}

Result<Word> lex_expanding_text(std::string_view text) {
  if (text.size() > kMaxLineBytes) {
    return make_error(ErrorCode::kInvalidArgument, "the text is {} bytes long; at most {}",
                      text.size(), kMaxLineBytes);
  }
  Parser parser(text, 0, 0, Dialect::kBash);
  return parser.parse_expanding_text();
}

}  // namespace cmdai::safety
