#include "safety/command_analysis.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "safety/arg_scan.h"
#include "safety/effects.h"
#include "safety/inline_code.h"
#include "safety/paths.h"
#include "safety/programs.h"
#include "safety/shell_lexer.h"

namespace cmdai::safety {
namespace {

constexpr int kMaxNesting = 12;
constexpr size_t kMaxInvocations = 4096;
// Bytes of nested command text analyzed per line, all levels together. Each level can hand
// its text on twice (as a substitution and as an eval/sh -c string), so without a budget
// deep nesting would cost exponential time.
constexpr size_t kAnalysisBudgetBytes = 1 << 20;
constexpr size_t kMaxBraceWords = 64;
constexpr size_t kMaxBraceWordBytes = 1024;
constexpr size_t kMaxFanOut = 8;  // copies made for xargs -I or find -exec {} substitution

bool in_list(std::string_view name, std::initializer_list<std::string_view> list) {
  for (std::string_view item : list) {
    if (name == item) return true;
  }
  return false;
}

bool is_downloader(std::string_view program) { return is_network_source(program); }

// Paths through which a program reads its own standard input as a file.
bool names_stdin(std::string_view path) {
  return in_list(path, {"/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-"});
}

std::string basename_of(std::string_view path);

// Generators whose output `eval` is meant to run: well-known shell set-up commands.
bool is_init_generator(std::string_view inner) {
  auto parsed = lex_shell(inner);
  if (!parsed.ok() || parsed->commands.size() != 1) return false;
  const SimpleCommand& command = parsed->commands[0];
  std::vector<std::string> words;
  for (const Word& word : command.words) {
    if (!word.is_literal()) return false;
    words.push_back(word.display());
  }
  if (words.empty() || !command.redirections.empty()) return false;
  const std::string program = basename_of(words[0]);
  if (in_list(program, {"ssh-agent", "dircolors", "gpg-agent", "keychain", "resize"})) {
    return true;
  }
  const bool init_word = std::any_of(words.begin() + 1, words.end(), [](const std::string& w) {
    return in_list(w, {"init", "hook", "shellenv", "env", "activate", "completion", "completions",
                       "shell", "--sh", "-s", "--bash", "--zsh", "--alias", "docker-env",
                       "podman-env", "signin", "shell.bash", "shell.zsh"});
  });
  return init_word &&
         in_list(program, {"cmdai",    "direnv",         "pyenv",    "rbenv",   "nodenv",
                           "goenv",    "jenv",           "starship", "zoxide",  "brew",
                           "fnm",      "mise",           "rtx",      "conda",   "thefuck",
                           "atuin",    "mcfly",          "fzf",      "kubectl", "helm",
                           "gh",       "rustup",         "pip",      "npm",     "uv",
                           "poetry",   "oh-my-posh",     "luarocks", "opam",    "nvm",
                           "asdf",     "micromamba",     "pdm",      "just",    "docker",
                           "minikube", "docker-machine", "op"});
}

std::string basename_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool is_assignment_text(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    const char c = text[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

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

Expanded literal_word(std::string text) {
  Expanded word;
  word.text = std::move(text);
  return word;
}

using Vars = std::map<std::string, std::string, std::less<>>;

// The program a command runs once simple wrappers are skipped; "" when not literal.
std::string quick_program(const SimpleCommand& command) {
  const std::vector<Word>& words = command.words;
  size_t i = 0;
  for (int guard = 0; guard < 8 && i < words.size(); ++guard) {
    if (!words[i].is_literal()) return "";
    const std::string name = basename_of(words[i].display());
    if (!in_list(name, {"sudo", "doas", "env", "nice", "nohup", "time", "command", "exec", "stdbuf",
                        "timeout", "ionice", "setsid", "busybox", "unbuffer", "pkexec"})) {
      return name;
    }
    ++i;
    while (i < words.size() && words[i].is_literal()) {
      const std::string text = words[i].display();
      if (text.empty() || (text[0] != '-' && !is_assignment_text(text))) break;
      if (in_list(text, {"-u", "-g", "-n", "-C", "-p", "-s", "-k"})) ++i;
      ++i;
    }
    if (name == "timeout") ++i;
  }
  return "";
}

// Backslash escapes as printf's format (and `echo -e`, `%b`) read them. `octal_needs_zero`:
// echo -e and %b spell octal as \0NNN, printf's format as \NNN. nullopt for what is not
// implemented (\u beyond ASCII, \c), so that a decoded value is never wrong.
std::optional<std::string> decode_escapes(std::string_view text, bool octal_needs_zero) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    const char e = text[++i];
    const std::string_view simple = "abefnrtv\\\"'";
    const std::string_view value = "\a\b\x1b\f\n\r\t\v\\\"'";
    if (const size_t k = simple.find(e); k != std::string_view::npos) {
      out += value[k];
    } else if (e == 'x') {
      int n = 0;
      unsigned value_x = 0;
      while (n < 2 && i + 1 < text.size() &&
             std::isxdigit(static_cast<unsigned char>(text[i + 1]))) {
        const char h = text[++i];
        value_x = value_x * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h))
                                                           ? h - '0'
                                                           : (h | 0x20) - 'a' + 10);
        ++n;
      }
      if (n == 0) return std::nullopt;
      out += static_cast<char>(value_x);
    } else if (e >= '0' && e <= '7') {
      if (octal_needs_zero && e != '0') {
        out += '\\';
        out += e;
        continue;
      }
      unsigned value_o = octal_needs_zero ? 0 : static_cast<unsigned>(e - '0');
      for (int n = 0; n < (octal_needs_zero ? 3 : 2) && i + 1 < text.size() && text[i + 1] >= '0' &&
                      text[i + 1] <= '7';
           ++n) {
        value_o = value_o * 8 + static_cast<unsigned>(text[++i] - '0');
      }
      out += static_cast<char>(value_o & 0xFF);
    } else {
      return std::nullopt;  // \u, \U, \c and the rest: not decoded here
    }
  }
  return out;
}

// What `echo`, `printf` or `pwd` with literal arguments prints; nullopt when it cannot be known.
std::optional<std::string> literal_output(const SimpleCommand& command) {
  if (command.words.empty() || !command.redirections.empty()) return std::nullopt;
  std::vector<std::string> words;
  for (const Word& word : command.words) {
    if (!word.is_literal()) return std::nullopt;
    words.push_back(word.display());
  }
  const std::string program = basename_of(words[0]);
  if (program == "pwd") return std::string(".");
  if (program == "echo") {
    size_t i = 1;
    bool escapes = false;
    bool raw = false;
    while (i < words.size() && words[i].size() > 1 && words[i][0] == '-' &&
           words[i].find_first_not_of("neE", 1) == std::string::npos) {
      escapes |= words[i].find('e') != std::string::npos;
      raw |= words[i].find('E') != std::string::npos;
      ++i;
    }
    std::string out;
    for (; i < words.size(); ++i) out += (out.empty() ? "" : " ") + words[i];
    if (out.find('\\') == std::string::npos || (raw && !escapes)) return out;
    // Without -e, whether escapes are decoded depends on the shell (dash does, bash does not).
    if (!escapes) return std::nullopt;
    return decode_escapes(out, true);
  }
  if (program == "printf" && words.size() >= 2 && words[1] != "-v" && words[1] != "--") {
    const std::optional<std::string> format = decode_escapes(words[1], false);
    if (!format) return std::nullopt;
    std::string out;
    size_t next_arg = 2;
    // The format is reused while arguments are left, as printf does.
    for (int pass = 0; pass < 64; ++pass) {
      const size_t first_arg = next_arg;
      for (size_t i = 0; i < format->size(); ++i) {
        if ((*format)[i] != '%') {
          out += (*format)[i];
          continue;
        }
        const char conversion = i + 1 < format->size() ? (*format)[i + 1] : '\0';
        ++i;
        if (conversion == '%') {
          out += '%';
        } else if (conversion == 's' || conversion == 'b') {
          std::string arg = next_arg < words.size() ? words[next_arg++] : "";
          if (conversion == 'b') {
            const std::optional<std::string> decoded = decode_escapes(arg, true);
            if (!decoded) return std::nullopt;
            arg = *decoded;
          }
          out += arg;
        } else {
          return std::nullopt;
        }
      }
      if (next_arg >= words.size() || next_arg == first_arg) break;
      if (pass == 63) return std::nullopt;  // not all arguments used: do not guess the rest
    }
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> static_substitution(std::string_view inner, Dialect dialect) {
  auto parsed = lex_shell(inner, dialect);
  if (!parsed.ok() || parsed->commands.size() != 1) return std::nullopt;
  const SimpleCommand& command = parsed->commands[0];
  if (!command.pipes.empty() || !command.assignments.empty()) return std::nullopt;
  std::optional<std::string> output = literal_output(command);
  while (output && !output->empty() && output->back() == '\n') output->pop_back();
  return output;
}

bool line_downloads(std::string_view line, int depth, Dialect dialect) {
  if (depth > 4) return false;
  auto parsed = lex_shell(line, dialect);
  if (!parsed.ok()) return false;
  for (const SimpleCommand& command : parsed->commands) {
    if (is_downloader(quick_program(command))) return true;
    for (const Word& word : command.words) {
      for (const WordPart& part : word.parts) {
        if ((part.kind == PartKind::kCommandSubst || part.kind == PartKind::kProcessSubst) &&
            line_downloads(part.text, depth + 1, dialect)) {
          return true;
        }
      }
    }
  }
  return false;
}

Expanded expand_operand(std::string_view operand, const Vars& vars, int depth);

Expanded expand_variable(const WordPart& part, const Vars& vars, int depth = 0) {
  const std::string& body = part.text;
  size_t name_end = 0;
  while (name_end < body.size() &&
         (body[name_end] == '_' || std::isalnum(static_cast<unsigned char>(body[name_end])))) {
    ++name_end;
  }
  if (name_end == 0 && !body.empty()) name_end = 1;  // $@, $?, ${#x}, ...
  const std::string name = body.substr(0, name_end);
  const std::string_view rest = std::string_view(body).substr(name_end);
  const auto known = vars.find(name);
  Expanded out;
  // ${X:-$(cmd)}: the operand runs a command, so the value cannot be known.
  if (body.find("$(") != std::string::npos || body.find('`') != std::string::npos) {
    out.text = "${" + body + "}";
    out.dynamic = true;
    out.from_subst = true;
    return out;
  }
  if (rest.empty()) {
    if (known != vars.end()) {
      out.text = known->second;
    } else {
      out.text = "$" + (body.size() == name.size() ? body : "{" + body + "}");
      out.dynamic = true;
    }
    return out;
  }
  const bool is_set = known != vars.end();
  const bool non_empty = is_set && !known->second.empty();
  for (std::string_view op : {":-", ":=", ":?", ":+", "-", "=", "?", "+"}) {
    if (rest.substr(0, op.size()) != op) continue;
    const bool colon = op[0] == ':';
    const bool present = colon ? non_empty : is_set;
    const char kind = op.back();
    if ((kind == '+' || kind == '?') && !is_set) break;  // depends on the unknown variable
    if (kind == '?') {
      out.text = known->second;
    } else if ((kind == '+') != present) {
      out.text = kind == '+' ? "" : known->second;
    } else {
      out = expand_operand(rest.substr(op.size()), vars, depth);
    }
    return out;
  }
  // ${X%/*}, ${X##*/}: prefix and suffix removal on a known value.
  if (is_set && (rest[0] == '%' || rest[0] == '#')) {
    const bool longest = rest.size() > 1 && rest[1] == rest[0];
    const std::string pattern(rest.substr(longest ? 2 : 1));
    const std::string& value = known->second;
    if (rest[0] == '%' && pattern.size() >= 1 && pattern.back() == '*' &&
        pattern.find_first_of("*?[", 0) == pattern.size() - 1) {
      const std::string stem = pattern.substr(0, pattern.size() - 1);
      const size_t at = longest ? value.find(stem) : value.rfind(stem);
      out.text = at == std::string::npos ? value : value.substr(0, at);
      return out;
    }
    if (rest[0] == '#' && !pattern.empty() && pattern[0] == '*' &&
        pattern.find_first_of("*?[", 1) == std::string::npos) {
      const std::string stem = pattern.substr(1);
      const size_t at = longest ? value.rfind(stem) : value.find(stem);
      out.text = at == std::string::npos ? value : value.substr(at + stem.size());
      return out;
    }
    if (pattern.find_first_of("*?[\\$") == std::string::npos) {
      const bool suffix = rest[0] == '%';
      const bool matches =
          value.size() >= pattern.size() &&
          (suffix ? value.compare(value.size() - pattern.size(), pattern.size(), pattern) == 0
                  : value.compare(0, pattern.size(), pattern) == 0);
      out.text = !matches ? value
                 : suffix ? value.substr(0, value.size() - pattern.size())
                          : value.substr(pattern.size());
      return out;
    }
  }
  out.text = "${" + body + "}";
  out.dynamic = true;
  return out;
}

// The operand of ${X:-operand}: itself expanded ($HOME, ~ stay meaningful inside).
Expanded expand_operand(std::string_view operand, const Vars& vars, int depth) {
  Expanded out;
  if (operand.find('$') == std::string_view::npos || depth > 8) {
    out.text = std::string(operand);
    out.dynamic = operand.find('$') != std::string_view::npos;
    return out;
  }
  auto word = lex_expanding_text(operand);
  if (!word.ok()) {
    out.text = std::string(operand);
    out.dynamic = true;
    return out;
  }
  for (const WordPart& part : word->parts) {
    if (part.kind == PartKind::kLiteral) {
      out.text += part.text;
    } else if (part.kind == PartKind::kVariable) {
      Expanded value = expand_variable(part, vars, depth + 1);
      out.text += value.text;
      out.dynamic |= value.dynamic;
      out.from_subst |= value.from_subst;
    } else {
      out.text += "$(" + part.text + ")";
      out.dynamic = true;
    }
  }
  return out;
}

Expanded expand_word(const Word& word, const Vars& vars, Dialect dialect) {
  Expanded out;
  if (const auto ifs = vars.find("IFS"); ifs != vars.end()) out.split_chars = ifs->second;
  for (const WordPart& part : word.parts) {
    switch (part.kind) {
      case PartKind::kLiteral:
        out.text += part.text;
        if (!part.quoted && part.text.find('{') != std::string::npos) out.brace_candidate = true;
        if (!part.quoted && (part.text.find_first_of("*?") != std::string::npos ||
                             (part.text.find('[') != std::string::npos &&
                              part.text.find(']', part.text.find('[')) != std::string::npos))) {
          out.glob = true;
        }
        break;
      case PartKind::kVariable: {
        Expanded value = expand_variable(part, vars);
        out.text += value.text;
        out.dynamic |= value.dynamic;
        out.from_subst |= value.from_subst;
        if (!part.quoted && value.text.find_first_of(out.split_chars) != std::string::npos) {
          out.split_candidate = true;
        }
        break;
      }
      case PartKind::kCommandSubst:
        if (std::optional<std::string> known = static_substitution(part.text, dialect)) {
          out.text += *known;
          if (!part.quoted && known->find_first_of(out.split_chars) != std::string::npos) {
            out.split_candidate = true;
          }
          break;
        }
        [[fallthrough]];
      case PartKind::kProcessSubst:
        out.text += (part.kind == PartKind::kProcessSubst ? "<(" : "$(") + part.text + ")";
        out.dynamic = true;
        out.from_subst = true;
        out.downloads |= line_downloads(part.text, 0, dialect);
        break;
      case PartKind::kArithmetic:
        out.text += "$((" + part.text + "))";
        out.dynamic = true;
        break;
    }
  }
  return out;
}

// Bash brace expansion (`/{etc,usr}` -> /etc /usr), capped at kMaxBraceWords results.
void brace_expand(const std::string& text, std::vector<std::string>& out) {
  for (size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
    int depth = 0;
    std::vector<size_t> commas;
    size_t close = std::string::npos;
    for (size_t i = open; i < text.size() && close == std::string::npos; ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}' && --depth == 0) close = i;
      if (text[i] == ',' && depth == 1) commas.push_back(i);
    }
    if (close == std::string::npos || commas.empty()) continue;
    commas.push_back(close);
    size_t start = open + 1;
    for (size_t comma : commas) {
      if (out.size() >= kMaxBraceWords) return;
      brace_expand(
          text.substr(0, open) + text.substr(start, comma - start) + text.substr(close + 1), out);
      start = comma + 1;
    }
    return;
  }
  if (out.size() < kMaxBraceWords) out.push_back(text);
}

void append_expanded(std::vector<Expanded>& words, Expanded word) {
  if (word.split_candidate) {
    // `RM="rm -rf"; $RM /` runs rm with -rf: split on blanks like the shell does.
    std::string current;
    const size_t before = words.size();
    for (char c : word.text + word.split_chars.substr(0, 1)) {
      if (word.split_chars.find(c) != std::string::npos) {
        if (!current.empty()) {
          Expanded piece = word;
          piece.split_candidate = false;
          piece.text = std::move(current);
          append_expanded(words, std::move(piece));
        }
        current.clear();
      } else {
        current += c;
      }
    }
    if (words.size() == before) {
      // Only separators (`IFS=/; rm -rf $IFS`): the shell passes an empty word; keep the text
      // instead, so that the rules see the worst reading.
      word.split_candidate = false;
      words.push_back(std::move(word));
    }
    return;
  }
  if (!word.brace_candidate || word.text.find(',') == std::string::npos) {
    words.push_back(std::move(word));
    return;
  }
  // Matching braces is quadratic in the word's length, so very long words stay unexpanded;
  // like expansions past kMaxBraceWords, they are reported as a limit of the check.
  std::vector<std::string> texts;
  if (word.text.size() <= kMaxBraceWordBytes) brace_expand(word.text, texts);
  if (texts.empty() || texts.size() >= kMaxBraceWords) {
    word.limit = true;
    words.push_back(std::move(word));
    return;
  }
  for (std::string& text : texts) {
    Expanded copy = word;
    copy.text = std::move(text);
    words.push_back(std::move(copy));
  }
}

// Items handed one by one to a command (xargs -I, find -exec {}, parallel :::), grouped so
// that at most kMaxFanOut copies are analyzed: the last group holds every item left over, so
// none goes unchecked.
std::vector<std::vector<std::string>> fan_out_groups(const std::vector<std::string>& items) {
  std::vector<std::vector<std::string>> groups;
  for (const std::string& item : items) {
    if (groups.size() < kMaxFanOut) groups.emplace_back();
    groups.back().push_back(item);
  }
  return groups;
}

// Replaces `placeholder` in `words` by `group`: a word that is exactly the placeholder becomes
// one word per item, any other occurrence the items joined by blanks.
std::vector<Expanded> substitute_items(const std::vector<Expanded>& words,
                                       const std::string& placeholder,
                                       const std::vector<std::string>& group) {
  std::string joined;
  for (const std::string& item : group) joined += (joined.empty() ? "" : " ") + item;
  std::vector<Expanded> out;
  for (const Expanded& word : words) {
    if (!placeholder.empty() && word.text == placeholder) {
      for (const std::string& item : group) {
        Expanded copy = word;
        copy.text = item;
        out.push_back(std::move(copy));
      }
      continue;
    }
    Expanded copy = word;
    for (size_t at = placeholder.empty() ? std::string::npos : copy.text.find(placeholder);
         at != std::string::npos; at = copy.text.find(placeholder, at + joined.size())) {
      copy.text.replace(at, placeholder.size(), joined);
    }
    out.push_back(std::move(copy));
  }
  return out;
}

std::vector<std::string> texts_of(const std::vector<Expanded>& words, size_t from = 0) {
  std::vector<std::string> texts;
  for (size_t i = from; i < words.size(); ++i) texts.push_back(words[i].text);
  return texts;
}

std::string join_texts(const std::vector<Expanded>& words, size_t from) {
  std::string joined;
  for (size_t i = from; i < words.size(); ++i) {
    if (i > from) joined += ' ';
    joined += words[i].text;
  }
  return joined;
}

// An invocation being unwrapped: its words plus what is known about its input.
struct Work {
  std::vector<Expanded> words;
  Invocation inv;  // everything except program and args
  std::optional<std::string> stdin_text;
  bool args_from_network = false;  // xargs reads its arguments from a download
};

enum class Step { kContinue, kStop, kDone };

class Analyzer {
 public:
  explicit Analyzer(Dialect dialect) : dialect_(dialect) {}
  void analyze(std::string_view line, int depth, bool elevated,
               const std::vector<std::string>& wrappers);
  std::vector<Invocation> finish() {
    if (truncated_) {
      Invocation error;
      error.parse_error = "the command is too large or too deeply nested to check fully";
      error.limit_exceeded = true;
      out_.push_back(std::move(error));
    }
    return std::move(out_);
  }

 private:
  void emit(Invocation inv) {
    if (out_.size() >= kMaxInvocations) {
      truncated_ = true;
      return;
    }
    follow_downloads(inv);
    out_.push_back(std::move(inv));
  }
  void follow_downloads(Invocation& inv);
  void emit_error(std::string message, bool elevated, const std::vector<std::string>& wrappers,
                  bool limit = false) {
    Invocation error;
    error.parse_error = std::move(message);
    error.elevated = elevated;
    error.wrappers = wrappers;
    error.limit_exceeded = limit;
    if (limit) truncated_ = true;  // reported once more by finish() even if out_ is full
    emit(std::move(error));
  }
  void analyze_nested(const Work& work, const std::string& text, int depth, const char* wrapper,
                      bool elevated) {
    std::vector<std::string> wrappers = work.inv.wrappers;
    wrappers.push_back(wrapper);
    analyze(text, depth + 1, elevated, wrappers);
  }

  void analyze_substitutions(const SimpleCommand& command, int depth);
  void analyze_zsh_eval_flag(const Word& word, const Vars& vars, int depth);
  void analyze_word_substitutions(const Word& word, int depth);
  void analyze_text_substitutions(const std::string& text, int depth);
  void analyze_assignment(const std::string& assignment, int depth, const Work& work);
  void track_directory(const Work& work);
  void emit_unknown_program(Work work, int depth);
  void emit_with_directory(Invocation inv);
  Step peel_table_wrapper(Work& work, const std::string& name, int depth);
  bool peel_ssh_option(const Work& work, const std::string& option, int depth);
  Step peel_known_runner(Work& work, const std::string& name, int depth);
  Step peel_inline_code(Work& work, const std::string& name, int depth);
  Step peel_parallel(Work& work, int depth);
  Step peel_from_first_program(Work& work, size_t from, const char* wrapper);
  void analyze_code_value(const Work& work, const std::string& code, int depth,
                          const char* wrapper);
  Work prepare(const std::vector<SimpleCommand>& commands, size_t index, const Vars& vars,
               bool elevated, const std::vector<std::string>& wrappers);
  void connect_pipeline(const std::vector<SimpleCommand>& commands, size_t index, Work& work);
  static void update_vars(const SimpleCommand& command, const Work& work, Vars& vars);

  void peel(Work work, int depth);
  Invocation to_invocation(Work work);
  Step peel_step(const std::string& name, Work& work, int depth);
  Step drop_wrapper(Work& work, const ScannedArgs& scanned, size_t extra_operands,
                    const char* wrapper);
  Step peel_sudo(Work& work, const std::string& name, int depth);
  Step peel_env(Work& work, int depth);
  Step peel_xargs(Work& work, int depth);
  Step peel_find(Work& work, int depth);
  Step peel_shell(Work& work, int depth);
  Step peel_shell_in_dialect(Work& work, int depth);
  Step peel_su(Work& work, int depth);
  Step peel_ssh(Work& work, int depth);

  std::vector<Invocation> out_;
  Dialect dialect_;  // the grammar of the text being analyzed: `zsh -c '...'` switches it
  std::string cwd_;  // the working directory `cd` moved to on this line; "" when not known
  std::set<std::string> downloaded_;  // files a downloader wrote earlier on the line
  bool truncated_ = false;
  size_t budget_left_bytes_ = kAnalysisBudgetBytes;
};

void Analyzer::analyze(std::string_view line, int depth, bool elevated,
                       const std::vector<std::string>& wrappers) {
  if (out_.size() >= kMaxInvocations || line.size() > budget_left_bytes_) {
    truncated_ = true;
    return;
  }
  budget_left_bytes_ -= line.size();
  if (depth > kMaxNesting) {
    emit_error("commands are nested more than 12 levels deep", elevated, wrappers, true);
    return;
  }
  auto parsed = lex_shell(line, dialect_);
  if (!parsed.ok()) {
    emit_error(parsed.error().message, elevated, wrappers,
               parsed.error().code == ErrorCode::kResourceExhausted);
    return;
  }
  Vars vars = {{"HOME", "/home/~"}, {"PWD", cwd_.empty() ? "." : cwd_}, {"SHELL", "sh"}};
  if (dialect_ == Dialect::kZsh) {
    for (const Word& word : parsed->expanded_words) analyze_zsh_eval_flag(word, vars, depth);
  }
  for (const Word& word : parsed->expanded_words) analyze_word_substitutions(word, depth);
  const std::vector<SimpleCommand>& commands = parsed->commands;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (dialect_ == Dialect::kZsh) {
      for (const Word& word : commands[i].assignments) analyze_zsh_eval_flag(word, vars, depth);
      for (const Word& word : commands[i].words) analyze_zsh_eval_flag(word, vars, depth);
      for (const Redirection& redirection : commands[i].redirections) {
        analyze_zsh_eval_flag(redirection.target, vars, depth);
      }
    }
    analyze_substitutions(commands[i], depth);
    Work work = prepare(commands, i, vars, elevated, wrappers);
    update_vars(commands[i], work, vars);
    for (const std::string& assignment : work.inv.assignments) {
      analyze_assignment(assignment, depth, work);
    }
    if (!work.words.empty() && work.words[0].text == "alias") {
      // alias x='rm -rf ~'; x: the alias is defined to be used, so read its text now.
      for (size_t w = 1; w < work.words.size(); ++w) {
        const std::string& text = work.words[w].text;
        const size_t eq = text.find('=');
        if (eq != std::string::npos && eq + 1 < text.size()) {
          analyze_nested(work, text.substr(eq + 1), depth, "alias", work.inv.elevated);
        }
      }
    }
    if (!work.words.empty() &&
        in_list(work.words[0].text, {"export", "declare", "local", "readonly", "typeset"})) {
      for (size_t w = 1; w < work.words.size(); ++w) {
        if (is_assignment_text(work.words[w].text)) {
          analyze_assignment(work.words[w].text, depth, work);
        }
      }
    }
    if (!work.words.empty()) {
      track_directory(work);
      peel(std::move(work), depth);
    } else if (!work.inv.assignments.empty() || !work.inv.redirections.empty()) {
      emit_with_directory(std::move(work.inv));
    }
  }
}

// `cd DIR` (or pushd) moves the rest of the line into DIR; an unknown target forgets it.
void Analyzer::track_directory(const Work& work) {
  const std::string& program = work.words[0].text;
  if (program != "cd" && program != "pushd" && program != "popd") return;
  std::vector<std::string> operands;
  for (size_t i = 1; i < work.words.size(); ++i) {
    if (work.words[i].dynamic) {
      cwd_.clear();
      return;
    }
    if (!work.words[i].text.empty() && work.words[i].text[0] == '-' && work.words[i].text != "-") {
      continue;
    }
    operands.push_back(work.words[i].text);
  }
  if (program == "popd" || (!operands.empty() && operands[0] == "-")) {
    cwd_.clear();
    return;
  }
  const std::string target = operands.empty() ? "~" : operands[0];
  if (target[0] == '/' || target[0] == '~') {
    cwd_ = normalize_path(target);
  } else {
    cwd_ = normalize_path((cwd_.empty() ? "." : cwd_) + "/" + target);
  }
}

// Assignments whose value the shell later runs as code: PROMPT_COMMAND, PAGER for git/man,
// prompt strings (their $(...) run at every prompt), BASH_ENV/ENV (a file every shell sources).
void Analyzer::analyze_assignment(const std::string& assignment, int depth, const Work& work) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) return;
  const std::string name = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (in_list(name, {"PROMPT_COMMAND", "GIT_SSH_COMMAND", "GIT_PAGER", "GIT_EDITOR", "PAGER",
                     "MANPAGER", "EDITOR", "VISUAL", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND",
                     "SSH_ASKPASS", "GIT_ASKPASS", "SUDO_ASKPASS", "BROWSER", "LESSOPEN",
                     "LESSCLOSE", "GIT_SEQUENCE_EDITOR", "FCEDIT", "SYSTEMD_PAGER"})) {
    std::string code = value;
    while (!code.empty() && (code[0] == '|' || code[0] == ' ')) code.erase(0, 1);
    analyze_code_value(work, code, depth, "assignment");
  } else if (in_list(name, {"PS0", "PS1", "PS2", "PS3", "PS4"})) {
    analyze_text_substitutions(value, depth);
  } else if (in_list(name, {"BASH_ENV", "ENV", "LD_PRELOAD", "LD_AUDIT"}) && !value.empty()) {
    Invocation inv = work.inv;
    inv.program.clear();
    inv.redirections.clear();
    inv.assignments = {assignment};
    inv.input_unknown = true;
    emit(std::move(inv));
  }
}

// Runs `code` as a nested command line; text that is not fixed makes the input unknown.
void Analyzer::analyze_code_value(const Work& work, const std::string& code, int depth,
                                  const char* wrapper) {
  if (code.empty()) return;
  analyze_nested(work, code, depth, wrapper, work.inv.elevated);
  // Pagers, tar --to-command, filters: the command reads data on stdin. A bare shell or
  // interpreter there runs that data as code.
  const std::string first = canonical_program(basename_of(code.substr(0, code.find(' '))));
  const bool bare = code.find(" -c") == std::string::npos && code.find(" -e") == std::string::npos;
  if ((is_shell(first) || is_interpreter(first)) && bare) {
    Invocation inv = work.inv;
    inv.program = first;
    inv.program_path = first;
    inv.redirections.clear();
    inv.wrappers.push_back(wrapper);
    inv.input_unknown = true;
    emit(std::move(inv));
  }
}

// zsh `${(e)x}` expands the value of x once more, running the substitutions it holds; an
// unknown value runs unknown code.
void Analyzer::analyze_zsh_eval_flag(const Word& word, const Vars& vars, int depth) {
  for (const WordPart& part : word.parts) {
    if (part.kind != PartKind::kVariable || part.text.empty() || part.text[0] != '(') continue;
    const size_t close = part.text.find(')');
    if (close == std::string::npos || part.text.find('e') > close) continue;
    size_t name_end = close + 1;
    while (name_end < part.text.size() &&
           (std::isalnum(static_cast<unsigned char>(part.text[name_end])) ||
            part.text[name_end] == '_')) {
      ++name_end;
    }
    const auto known = vars.find(part.text.substr(close + 1, name_end - close - 1));
    if (known != vars.end() && name_end == part.text.size()) {
      analyze_text_substitutions(known->second, depth);
      continue;
    }
    Invocation unknown;
    unknown.program = "eval";
    unknown.program_path = "${" + part.text + "}";
    unknown.input_unknown = true;
    emit(std::move(unknown));
  }
}

void Analyzer::analyze_substitutions(const SimpleCommand& command, int depth) {
  for (const Word& word : command.assignments) analyze_word_substitutions(word, depth);
  for (const Word& word : command.words) analyze_word_substitutions(word, depth);
  for (const Redirection& redirection : command.redirections) {
    analyze_word_substitutions(redirection.target, depth);
  }
}

// Every command the shell runs while expanding `word`: $(...), `...`, <(...), and those
// inside ${X:-$(...)} operands and $(( a[$(...)] )) expressions.
void Analyzer::analyze_word_substitutions(const Word& word, int depth) {
  for (const WordPart& part : word.parts) {
    if (part.kind == PartKind::kCommandSubst || part.kind == PartKind::kProcessSubst) {
      const std::string saved_cwd = cwd_;  // a substitution runs in a subshell
      analyze(part.text, depth + 1, false, {});
      cwd_ = saved_cwd;
    } else if (part.kind == PartKind::kVariable || part.kind == PartKind::kArithmetic) {
      analyze_text_substitutions(part.text, depth);
    }
  }
}

void Analyzer::analyze_text_substitutions(const std::string& text, int depth) {
  if (text.find("$(") == std::string::npos && text.find('`') == std::string::npos &&
      text.find("<(") == std::string::npos) {
    return;
  }
  if (depth > kMaxNesting) {
    emit_error("commands are nested more than 12 levels deep", false, {}, true);
    return;
  }
  auto word = lex_expanding_text(text);
  if (!word.ok()) {
    emit_error("cannot read the command inside '" + text + "': " + word.error().message, false, {});
    return;
  }
  // <(...) is not an expansion in here-document text; look for it as a word as well.
  if (text.find("<(") != std::string::npos) {
    auto parsed = lex_shell(text);
    if (parsed.ok()) {
      for (const SimpleCommand& command : parsed->commands) {
        analyze_substitutions(command, depth + 1);
      }
    }
  }
  analyze_word_substitutions(*word, depth + 1);
}

Work Analyzer::prepare(const std::vector<SimpleCommand>& commands, size_t index, const Vars& vars,
                       bool elevated, const std::vector<std::string>& wrappers) {
  const SimpleCommand& command = commands[index];
  Work work;
  work.inv.elevated = elevated;
  work.inv.wrappers = wrappers;
  for (const Word& word : command.assignments) {
    work.inv.assignments.push_back(expand_word(word, vars, dialect_).text);
  }
  for (const Word& word : command.words)
    append_expanded(work.words, expand_word(word, vars, dialect_));
  connect_pipeline(commands, index, work);
  for (const Redirection& redirection : command.redirections) {
    Expanded target = expand_word(redirection.target, vars, dialect_);
    const bool feeds_stdin =
        redirection.op == "<" || redirection.op == "<<<" || redirection.op == "<<";
    if (feeds_stdin) {
      work.inv.stdin_opaque_pipe = false;
      work.inv.stdin_from_download |= target.downloads;
      work.stdin_text.reset();
    }
    if (feeds_stdin && target.from_subst) {
      work.inv.stdin_opaque_pipe = true;  // the output of a substitution: not known here
    } else if (redirection.op == "<<" || redirection.op == "<<<") {
      work.stdin_text = target.text;  // unknown variables stay as $X and are read as such
    }
    work.inv.redirections.push_back({redirection.fd, redirection.op, std::move(target.text)});
  }
  if (!command.function_name.empty() && !work.words.empty() &&
      work.words[0].text == command.function_name &&
      (command.background || !command.pipes.empty())) {
    work.inv.spawns_itself = true;
  }
  return work;
}

void Analyzer::connect_pipeline(const std::vector<SimpleCommand>& commands, size_t index,
                                Work& work) {
  const SimpleCommand& command = commands[index];
  bool reads_pipe = false;
  std::vector<size_t> producers;
  for (const PipeStage& mine : command.pipes) {
    if (mine.stage == 0) continue;
    reads_pipe = true;
    producers.clear();
    for (size_t j = 0; j < commands.size(); ++j) {
      for (const PipeStage& theirs : commands[j].pipes) {
        if (j == index || theirs.pipeline_id != mine.pipeline_id || theirs.stage >= mine.stage) {
          continue;
        }
        if (is_downloader(quick_program(commands[j]))) work.inv.stdin_from_download = true;
        if (theirs.stage == mine.stage - 1) producers.push_back(j);
      }
    }
  }
  if (!reads_pipe) return;
  if (producers.size() == 1) work.stdin_text = literal_output(commands[producers[0]]);
  if (!work.stdin_text) work.inv.stdin_opaque_pipe = true;
}

void Analyzer::update_vars(const SimpleCommand& command, const Work& work, Vars& vars) {
  auto assign = [&vars](const std::string& text, bool known) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) return;
    const bool append = text[eq - 1] == '+';  // NAME+=value
    const std::string name = text.substr(0, append ? eq - 1 : eq);
    if (!is_assignment_text(name + "=")) return;
    const auto old = vars.find(name);
    if (known && (!append || old != vars.end())) {
      vars[name] = (append ? old->second : "") + text.substr(eq + 1);
    } else {
      vars.erase(name);
    }
  };
  if (work.words.empty()) {
    for (size_t i = 0; i < command.assignments.size(); ++i) {
      assign(work.inv.assignments[i], command.assignments[i].is_literal() ||
                                          work.inv.assignments[i].find('$') == std::string::npos);
    }
    return;
  }
  const std::string& program = work.words[0].text;
  if (in_list(program, {"export", "declare", "local", "readonly", "typeset"})) {
    // declare -n (a name reference), -i (arithmetic), -a/-A: the value is not the text.
    bool plain = true;
    for (size_t i = 1; i < work.words.size(); ++i) {
      const std::string& text = work.words[i].text;
      if (text.size() > 1 && text[0] == '-' &&
          text.find_first_of("niaAluc", 1) != std::string::npos) {
        plain = false;
      }
    }
    for (size_t i = 1; i < work.words.size(); ++i) {
      assign(work.words[i].text, plain && !work.words[i].dynamic);
    }
  } else if (in_list(program, {"read", "mapfile", "readarray", "printf", "getopts"})) {
    // read NAME, printf -v NAME: the variable gets a value not known here.
    for (size_t i = 1; i < work.words.size(); ++i) vars.erase(work.words[i].text);
  } else if (program == "unset") {
    for (size_t i = 1; i < work.words.size(); ++i) vars.erase(work.words[i].text);
  }
}

// GNU getopt accepts any unambiguous prefix of a long option (`rm --rec --fo`); rewrite those
// to the full names for the programs whose rules look at long options.
void expand_long_abbreviations(const std::string& program, std::vector<std::string>& args) {
  static const std::map<std::string_view, std::vector<std::string_view>, std::less<>> kLongs = {
      {"rm",
       {"force", "interactive", "one-file-system", "no-preserve-root", "preserve-root", "recursive",
        "dir", "verbose", "help", "version"}},
      {"chmod",
       {"changes", "silent", "quiet", "verbose", "no-preserve-root", "preserve-root", "reference",
        "recursive", "help", "version"}},
      {"chown",
       {"changes", "dereference", "no-dereference", "from", "silent", "quiet", "verbose",
        "no-preserve-root", "preserve-root", "reference", "recursive", "help", "version"}},
      {"shred",
       {"force", "iterations", "random-source", "size", "remove", "verbose", "exact", "zero",
        "help", "version"}},
      {"truncate", {"no-create", "io-blocks", "reference", "size", "help", "version"}},
      {"cp",
       {"archive", "backup", "force", "interactive", "link", "no-clobber", "recursive",
        "remove-destination", "symbolic-link", "target-directory", "update", "verbose", "help",
        "version"}},
      {"mv",
       {"backup", "force", "interactive", "no-clobber", "target-directory", "update", "verbose",
        "help", "version"}},
      {"wipefs",
       {"all", "backup", "force", "no-act", "offset", "output", "parsable", "quiet", "types",
        "help", "version"}},
      {"sed",
       {"expression", "file", "in-place", "quiet", "silent", "regexp-extended", "separate",
        "null-data", "help", "version"}},
      {"iptables",
       {"append", "delete", "insert", "replace", "list", "flush", "zero", "new-chain",
        "delete-chain", "policy", "rename-chain", "table", "help", "version"}},
      {"crontab", {"help", "version"}},
      {"kill", {"signal", "list", "table", "help", "version"}},
      {"dd", {"help", "version"}},
      {"tar",
       {"to-command", "use-compress-program", "checkpoint-action", "directory", "extract", "create",
        "file", "info-script", "new-volume-script", "rsh-command", "get", "help", "version"}},
      {"rsync", {"rsh", "rsync-path", "delete", "dry-run", "help", "version"}},
      {"xargs", {"replace", "arg-file", "max-args", "null", "help", "version"}},
  };
  const auto known = kLongs.find(program);
  if (known == kLongs.end()) return;
  for (std::string& arg : args) {
    if (arg == "--") break;
    if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') continue;
    const size_t eq = arg.find('=');
    const std::string given = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string_view match;
    int matches = 0;
    for (std::string_view name : known->second) {
      if (name == given) {
        matches = 0;
        break;
      }
      if (name.substr(0, given.size()) == given) {
        match = name;
        ++matches;
      }
    }
    if (matches == 1) {
      arg = "--" + std::string(match) + (eq == std::string::npos ? "" : arg.substr(eq));
    }
  }
}

// --help, --version and dry-run flags: the program reports what it would do and stops.
bool is_dry_run(const std::string& program, const std::vector<std::string>& args) {
  if (is_shell(program) || is_interpreter(program)) return false;
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "--version") return true;  // GNU getopt reads it anywhere
  }
  auto any = [&args](std::initializer_list<std::string_view> flags) {
    return std::any_of(args.begin(), args.end(), [flags](const std::string& arg) {
      return in_list(arg, flags) || arg.rfind("--dry-run", 0) == 0;
    });
  };
  if (in_list(program, {"rsync",
                        "make",
                        "git",
                        "wipefs",
                        "sfdisk",
                        "mke2fs",
                        "mkfs.ext2",
                        "mkfs.ext3",
                        "mkfs.ext4",
                        "zfs",
                        "btrfs",
                        "kubectl",
                        "helm",
                        "npm",
                        "pip",
                        "pip3",
                        "certbot",
                        "ufw",
                        "apt",
                        "apt-get",
                        "terraform",
                        "ansible",
                        "ansible-playbook",
                        "rclone",
                        "lvremove",
                        "docker",
                        "sgdisk",
                        "dnf",
                        "yum",
                        "brew",
                        "cargo",
                        "aws",
                        "gcloud"})) {
    if (any({"--dry-run", "--simulate", "--no-act", "--just-print", "--recon", "--check",
             "--pretend", "--test", "--what-if", "--print"})) {
      return true;
    }
    if (in_list(program, {"apt", "apt-get"}) && any({"-s"})) return true;
    if (program == "sgdisk" && any({"-P"})) return true;
    const ScannedArgs scanned = scan_args(args);
    if (in_list(program, {"rsync", "make", "wipefs", "sfdisk", "mke2fs", "mkfs.ext2", "mkfs.ext3",
                          "mkfs.ext4", "zfs"}) &&
        scanned.has('n')) {
      return true;
    }
    if (program == "git" && scanned.has('n') && !scanned.operands.empty() &&
        in_list(scanned.operands[0], {"clean", "rm", "push", "add", "mv"})) {
      return true;
    }
  }
  // `kill -0 PID` only asks whether the process exists.
  return program == "kill" && !args.empty() &&
         (args[0] == "-0" || (args[0] == "-s" && args.size() > 1 && args[1] == "0"));
}

Invocation Analyzer::to_invocation(Work work) {
  Invocation inv = std::move(work.inv);
  const Expanded& head = work.words[0];
  inv.program = head.dynamic ? head.text : canonical_program(basename_of(head.text));
  inv.program_path = head.text;
  inv.program_from_substitution = head.from_subst;
  inv.program_from_download = head.downloads;
  inv.program_dynamic = (head.dynamic && !head.from_subst) || head.glob;
  inv.program_user_tool =
      inv.program_dynamic &&
      in_list(head.text, {"$EDITOR", "${EDITOR}", "$VISUAL", "${VISUAL}", "$PAGER", "${PAGER}",
                          "$BROWSER", "$TERMINAL", "$GIT_EDITOR", "$MANPAGER"});
  inv.program_unknown = !head.dynamic && !is_known_program(inv.program);
  for (size_t i = 0; i < work.words.size(); ++i) {
    if (work.words[i].limit) {
      inv.limit_exceeded = true;
      inv.parse_error = "a brace expansion is too large to check";
    }
    if (i == 0) continue;
    inv.args.push_back(work.words[i].text);
    inv.operand_from_download |= work.words[i].downloads;
  }
  if (work.stdin_text) {
    inv.stdin_known = true;
    inv.stdin_literal = *work.stdin_text;
  }
  expand_long_abbreviations(inv.program, inv.args);
  inv.dry_run = is_dry_run(inv.program, inv.args);
  return inv;
}

// Rates `inv` as written and, when `cd` moved the line into a known directory, also with its
// relative paths resolved there: `cd / && rm -rf *` is `rm -rf /*`.
void Analyzer::emit_with_directory(Invocation inv) {
  if (cwd_.empty() || cwd_ == ".") {
    emit(std::move(inv));
    return;
  }
  Invocation resolved = inv;
  bool changed = false;
  auto resolve = [&](std::string& path) {
    if (path.empty() || path[0] == '/' || path[0] == '~' || path[0] == '$' || path[0] == '-') {
      return;
    }
    path = cwd_ + "/" + path;
    changed = true;
  };
  const std::string& program = inv.program;
  if (in_list(program, {"rm", "rmdir", "unlink", "shred", "chmod", "chown", "chgrp", "mv", "cp",
                        "ln", "truncate", "find", "tee", "install", "wipefs", "dd"})) {
    bool first_operand = true;
    for (std::string& arg : resolved.args) {
      if (arg.empty() || arg[0] == '-') continue;
      const bool mode_operand = first_operand && in_list(program, {"chmod", "chown", "chgrp"});
      first_operand = false;
      if (mode_operand) continue;
      if (program == "dd") {
        if (arg.rfind("of=", 0) == 0) {
          std::string path = arg.substr(3);
          resolve(path);
          arg = "of=" + path;
        }
        continue;
      }
      if (program == "find" && arg[0] == '(') break;
      resolve(arg);
    }
  }
  for (RedirectionTarget& redirection : resolved.redirections) {
    if (redirection.op != "<" && redirection.op != "<<" && redirection.op != "<<<" &&
        redirection.op != "<&" && redirection.op != ">&") {
      resolve(redirection.target);
    }
  }
  emit(std::move(inv));
  if (changed) emit(std::move(resolved));
}

void Analyzer::peel(Work work, int depth) {
  constexpr int kMaxWrappers = 32;
  for (int guard = 0; !work.words.empty(); ++guard) {
    if (guard == kMaxWrappers) {
      // Wrappers stacked past the limit: what finally runs was not reached, so refuse.
      emit_error("more than 32 wrappers around one command", work.inv.elevated, work.inv.wrappers,
                 true);
      break;
    }
    if (work.words[0].dynamic || work.words[0].glob) {
      emit_unknown_program(std::move(work), depth);
      return;
    }
    const std::string name = canonical_program(basename_of(work.words[0].text));
    const Step step = peel_step(name, work, depth);
    if (step == Step::kDone) return;
    if (step == Step::kStop) break;
  }
  if (!work.words.empty()) emit_with_directory(to_invocation(std::move(work)));
}

// `curl -o x.sh URL && bash x.sh`, `wget URL; chmod +x f; ./f`: a file a downloader wrote
// earlier on the line is network code when it is run.
void Analyzer::follow_downloads(Invocation& inv) {
  auto downloaded = [this](const std::string& path) {
    return !path.empty() && downloaded_.count(normalize_path(path)) != 0;
  };
  if (inv.program_path.find('/') != std::string::npos && downloaded(inv.program_path)) {
    inv.program_from_download = true;
  }
  if (is_shell(inv.program) || is_interpreter(inv.program) ||
      in_list(inv.program, {"source", ".", "at", "batch"})) {
    for (const std::string& arg : inv.args) {
      if (!arg.empty() && arg[0] == '-') continue;
      if (downloaded(arg)) inv.input_from_network = true;
      break;
    }
    for (const RedirectionTarget& redirection : inv.redirections) {
      if (redirection.op == "<" && downloaded(redirection.target)) inv.input_from_network = true;
    }
  }
  if (!is_network_source(inv.program)) return;
  for (const std::string& path : written_paths(inv)) downloaded_.insert(normalize_path(path));
  // curl -O URL, wget URL: the file is named after the URL's last segment.
  const bool remote_name =
      inv.program == "wget" ||
      std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
        return arg == "-O" || arg == "--remote-name" ||
               (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' &&
                arg.find('O') != std::string::npos);
      });
  if (!remote_name) return;
  for (const std::string& arg : inv.args) {
    const size_t slash = arg.rfind('/');
    if (arg.empty() || arg[0] == '-' || slash == std::string::npos || slash + 1 >= arg.size()) {
      continue;
    }
    downloaded_.insert(normalize_path(arg.substr(slash + 1)));
  }
}

// A program name that cannot be known (`$X rm -rf ~`): rated as unknown, and the words after
// it are read as a command too, since the variable may be a wrapper or empty.
void Analyzer::emit_unknown_program(Work work, int depth) {
  Work rest = work;
  emit_with_directory(to_invocation(std::move(work)));
  if (rest.words.size() < 2 || depth > kMaxNesting) return;
  rest.words.erase(rest.words.begin());
  if (rest.words.size() >= 2 && rest.words[0].text == "-c") {
    // `$0 -c 'CMD'`, `$SH -c 'CMD'`: the unknown program may well be a shell.
    analyze_nested(rest, rest.words[1].text, depth, "unknown -c", rest.inv.elevated);
    return;
  }
  rest.inv.wrappers.push_back("unknown program");
  peel(std::move(rest), depth + 1);
}

Step Analyzer::peel_step(const std::string& name, Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  auto scan = [&args](std::string_view shorts, const std::vector<std::string_view>& longs) {
    return scan_args(args, shorts, longs, true);
  };
  if (name == "sudo" || name == "doas" || name == "pkexec" || name == "run0") {
    return peel_sudo(work, name == "run0" ? "pkexec" : name, depth);
  }
  if (name == "env") return peel_env(work, depth);
  if (in_list(name, {"rimraf", "del-cli"})) {
    // rimraf and friends are `rm -rf` under another name.
    work.words[0].text = "rm";
    work.words.insert(work.words.begin() + 1, literal_word("-rf"));
    return Step::kContinue;
  }
  if (name == "newgrp") {
    // newgrp starts a shell in the new group: it reads its commands from stdin.
    if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "newgrp", work.inv.elevated);
    } else if (work.inv.stdin_opaque_pipe || work.inv.stdin_from_download) {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
    }
    return Step::kStop;
  }
  if (name == "xargs") return peel_xargs(work, depth);
  if (name == "find") return peel_find(work, depth);
  if (is_shell(name)) return peel_shell(work, depth);
  if (is_interpreter(name) || is_awk(name) ||
      in_list(name, {"sed", "gsed", "vim", "vi", "nvim", "ex", "view", "gvim", "less", "more"})) {
    return peel_inline_code(work, name, depth);
  }
  if (name == "su") return peel_su(work, depth);
  if (name == "ssh") return peel_ssh(work, depth);
  if (name == "parallel") return peel_parallel(work, depth);
  if (name == "eval") {
    // eval "$(ssh-agent -s)": the output of a known set-up generator, meant to be run.
    if (work.words.size() == 2 && work.words[1].from_subst && !work.words[1].downloads &&
        work.words[1].text.rfind("$(", 0) == 0 && work.words[1].text.back() == ')' &&
        is_init_generator(work.words[1].text.substr(2, work.words[1].text.size() - 3))) {
      return Step::kDone;
    }
    analyze_nested(work, join_texts(work.words, 1), depth, "eval", work.inv.elevated);
    return Step::kDone;
  }
  if (name == "source" || name == ".") {
    if (work.words.size() < 2 && dialect_ == Dialect::kFish) {
      // fish: `source` with no file reads its commands from stdin (`curl ... | source`).
      if (work.stdin_text) {
        analyze_nested(work, *work.stdin_text, depth, "source", work.inv.elevated);
        return Step::kDone;
      }
      work.inv.input_unknown = work.inv.stdin_opaque_pipe || work.inv.stdin_from_download;
      work.inv.input_from_network = work.inv.stdin_from_download;
      return Step::kStop;
    }
    if (work.words.size() < 2) return Step::kStop;
    const Expanded& file = work.words[1];
    if (names_stdin(file.text)) {
      if (work.stdin_text) {
        analyze_nested(work, *work.stdin_text, depth, "source", work.inv.elevated);
        return Step::kDone;
      }
      work.inv.input_unknown = true;
    } else if (file.dynamic && !file.from_subst) {
      work.inv.input_unknown = true;  // . "$X": a file chosen at run time
    } else if (file.from_subst && !file.downloads &&
               !(file.text.size() > 3 && file.text.rfind("<(", 0) == 0 &&
                 is_init_generator(file.text.substr(2, file.text.size() - 3)))) {
      work.inv.input_unknown = true;  // source <(kubectl completion bash) is fine
    }
    return Step::kStop;
  }
  if (name == "at" || name == "batch") {
    const ScannedArgs scanned = scan_args(args, "qftM", {});
    if (scanned.has('l') || scanned.has('d') || scanned.has('r') || scanned.has('c')) {
      return Step::kStop;
    }
    if (scanned.value("f")) {
      return Step::kStop;  // a script file, like `bash ./script.sh`
    }
    if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "at", work.inv.elevated);
    } else if (work.inv.stdin_opaque_pipe || work.inv.stdin_from_download) {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
    }
    return Step::kStop;
  }
  if (name == "trap") {
    const ScannedArgs scanned = scan("", {});
    if (scanned.has('l') || scanned.has('p') || scanned.operands.size() < 2) return Step::kStop;
    if (scanned.operands[0] != "-") {
      analyze_nested(work, scanned.operands[0], depth, "trap", work.inv.elevated);
    }
    return Step::kDone;
  }
  if (name == "watch") {
    const ScannedArgs scanned = scan("n", {"interval"});
    if (scanned.options_end >= args.size()) return Step::kStop;
    analyze_nested(work, join_texts(work.words, scanned.options_end + 1), depth, "watch",
                   work.inv.elevated);
    return Step::kDone;
  }
  if (name == "flock") {
    const ScannedArgs all = scan_args(args, "wEc", {"timeout", "conflict-exit-code", "command"});
    const std::string* command = all.value("c");
    if (!command) command = all.value("command");
    if (command) {
      analyze_nested(work, *command, depth, "flock", work.inv.elevated);
      return Step::kDone;
    }
    return drop_wrapper(work, scan("wE", {"timeout", "conflict-exit-code"}), 1, "flock");
  }
  if (name == "command") {
    const ScannedArgs scanned = scan("", {});
    if (scanned.has('v') || scanned.has('V')) return Step::kStop;
    return drop_wrapper(work, scanned, 0, "command");
  }
  if (name == "busybox" || name == "toybox") return drop_wrapper(work, scan("", {}), 0, "busybox");
  if (in_list(name, {"nohup", "builtin", "unbuffer", "setsid", "caffeinate"})) {
    return drop_wrapper(work, scan("w", {}), 0, "nohup");
  }
  if (name == "time") return drop_wrapper(work, scan("fo", {"format", "output"}), 0, "time");
  if (name == "nice") return drop_wrapper(work, scan("n", {"adjustment"}), 0, "nice");
  if (name == "exec") return drop_wrapper(work, scan("a", {}), 0, "exec");
  if (name == "stdbuf") {
    return drop_wrapper(work, scan("ioe", {"input", "output", "error"}), 0, "stdbuf");
  }
  if (name == "timeout") {
    return drop_wrapper(work, scan("sk", {"signal", "kill-after"}), 1, "timeout");
  }
  if (name == "ionice" || name == "chrt" || name == "taskset") {
    const ScannedArgs scanned = scan(name == "ionice" ? "cn" : "", {"class", "classdata"});
    if (scanned.has('p') || scanned.has_long("pid")) return Step::kStop;
    return drop_wrapper(work, scanned, name == "ionice" ? 0 : 1, "nice");
  }
  if (name == "chroot") {
    return drop_wrapper(work, scan("", {"userspec", "groups"}), 1, "chroot");
  }
  const Step runner = peel_known_runner(work, name, depth);
  if (runner != Step::kStop) return runner;
  if (is_command_wrapper(name)) return peel_table_wrapper(work, name, depth);
  // An unknown program whose arguments start with a known program: read them as a command.
  if (!is_known_program(name)) return peel_from_first_program(work, 1, "unknown wrapper");
  return Step::kStop;
}

// Drops every word before the first one that names a known program (options and their values,
// a user name, an image, a timestamp, ...). Stops when there is none.
Step Analyzer::peel_from_first_program(Work& work, size_t from, const char* wrapper) {
  for (size_t i = from; i < work.words.size(); ++i) {
    const Expanded& word = work.words[i];
    if (word.dynamic || word.text.empty() || word.text[0] == '-' || word.text[0] == '+' ||
        is_assignment_text(word.text)) {
      continue;
    }
    const std::string name = canonical_program(basename_of(word.text));
    // ".", ":" and "[" name builtins but are far more often a directory or a separator.
    if (!is_known_program(name) ||
        in_list(word.text, {"--", ".", ":", "[", "..", "/", "exec", "run"})) {
      continue;
    }
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(i));
    work.inv.wrappers.push_back(wrapper);
    return Step::kContinue;
  }
  return Step::kStop;
}

// Wrappers from programs.h that have a command-string option; the rest run their first
// argument that names a program.
Step Analyzer::peel_table_wrapper(Work& work, const std::string& name, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  if (in_list(name, {"runuser", "sg", "script", "su-exec", "capsh", "nix-shell", "expect",
                     "vagrant", "machinectl", "lxc-attach", "schroot"})) {
    const std::string_view value_shorts = name == "script"    ? "cETIOBmo"
                                          : name == "runuser" ? "cugGsw"
                                                              : "c";
    const ScannedArgs all = scan_args(args, value_shorts, {"command", "run", "user", "group"});
    for (std::string_view option : {"c", "command", "run"}) {
      if (const std::string* code = all.value(option)) {
        analyze_nested(work, *code, depth, "wrapper -c", work.inv.elevated || name == "runuser");
        return Step::kDone;
      }
    }
    if (name == "sg" && all.operands.size() >= 2) {
      // sg GROUP 'CMD': the command is one string handed to /bin/sh -c.
      analyze_nested(work, all.operands[1], depth, "sg", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "capsh") {
      for (size_t i = 0; i + 2 < args.size(); ++i) {
        if (args[i] == "--" && args[i + 1] == "-c") {
          analyze_nested(work, args[i + 2], depth, "capsh", work.inv.elevated);
          return Step::kDone;
        }
      }
    }
  }
  if (in_list(name, {"xterm", "konsole", "alacritty", "kitty", "gnome-terminal"})) {
    for (size_t i = 1; i < work.words.size(); ++i) {
      if (in_list(work.words[i].text, {"-e", "--", "-x", "--command"})) {
        return peel_from_first_program(work, i + 1, "terminal");
      }
    }
    return Step::kStop;
  }
  if (name == "hyperfine") {
    const ScannedArgs scanned =
        scan_args(args, "wrmMpcsnLPSuN",
                  {"warmup", "runs", "prepare", "cleanup", "setup", "command-name", "export-json",
                   "export-csv", "export-markdown", "shell"});
    for (std::string_view option : {"p", "c", "s", "prepare", "cleanup", "setup"}) {
      if (const std::string* code = scanned.value(option)) {
        analyze_nested(work, *code, depth, "hyperfine", work.inv.elevated);
      }
    }
    for (const std::string& code : scanned.operands) {
      analyze_nested(work, code, depth, "hyperfine", work.inv.elevated);
    }
    return Step::kDone;
  }
  if (name == "tmux" || name == "screen") {
    const ScannedArgs scanned = scan_args(args, "stnxyFecLfSTpX", {});
    const std::vector<std::string>& operands = scanned.operands;
    if (name == "tmux" && !operands.empty() && in_list(operands[0], {"send-keys", "send"})) {
      std::string typed;
      for (size_t i = 1; i < operands.size(); ++i) {
        if (in_list(operands[i], {"Enter", "C-m", "KPEnter"})) continue;
        typed += operands[i] + " ";
      }
      analyze_nested(work, typed, depth, "tmux send-keys", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "tmux" && operands.size() >= 2 &&
        in_list(operands[0], {"new", "new-session", "new-window", "neww", "split-window", "splitw",
                              "run-shell", "run", "respawn-pane", "respawnp", "display-popup",
                              "popup", "respawn-window", "respawnw"})) {
      analyze_nested(work, operands.back(), depth, "tmux", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "screen") return peel_from_first_program(work, 1, "screen");
    return Step::kStop;
  }
  if (name == "gdb" || name == "lldb") {
    bool ran = false;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (!in_list(args[i], {"-ex", "--ex", "-eval-command", "--eval-command", "-iex", "-o",
                             "--one-line"})) {
        continue;
      }
      std::string command = args[++i];
      while (!command.empty() && command[0] == ' ') command.erase(0, 1);
      if (command.rfind("shell ", 0) == 0 || command.rfind("platform shell ", 0) == 0) {
        command = command.substr(command.find("shell ") + 6);
      } else if (!command.empty() && command[0] == '!') {
        command = command.substr(1);
      } else if (command.rfind("python", 0) == 0 || command.rfind("script", 0) == 0) {
        Work code = work;
        code.words = {literal_word("python3"), literal_word("-c"),
                      literal_word(command.substr(command.find(' ') + 1))};
        peel(std::move(code), depth + 1);
        ran = true;
        continue;
      } else {
        continue;
      }
      analyze_nested(work, command, depth, "gdb", work.inv.elevated);
      ran = true;
    }
    for (size_t i = 1; i < work.words.size(); ++i) {
      if (work.words[i].text == "--args") return peel_from_first_program(work, i + 1, "gdb");
    }
    return ran ? Step::kDone : Step::kStop;
  }
  if (in_list(name, {"npx", "bunx", "pnpx", "uvx", "pipx"})) {
    const ScannedArgs all = scan_args(args, "cp", {"call", "package", "spec"}, true);
    for (std::string_view option : {"c", "call"}) {
      if (const std::string* code = all.value(option)) {
        analyze_nested(work, *code, depth, "npx -c", work.inv.elevated);
        return Step::kDone;
      }
    }
    size_t index = 1 + all.options_end;
    if (name == "pipx" && index < work.words.size() && work.words[index].text == "run") ++index;
    if (index >= work.words.size()) return Step::kStop;
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
    // rimraf and friends are `rm -rf` under another name.
    if (in_list(basename_of(work.words[0].text),
                {"rimraf", "del-cli", "trash-cli", "rimraf@latest"})) {
      work.words[0].text = "rm";
      work.words.insert(work.words.begin() + 1, literal_word("-rf"));
    }
    work.inv.wrappers.push_back(name);
    return Step::kContinue;
  }
  // perf record|stat|trace CMD: the first operand is perf's own subcommand.
  return peel_from_first_program(work, name == "perf" ? 2 : 1, name.c_str());
}
// Known programs with an option or mode that runs a command: git -c core.pager=..., tar
// --to-command, rsync -e, docker run IMAGE CMD, kubectl exec POD -- CMD, man -P, npm exec.
// Returns kStop when `name` has none of them in use.
Step Analyzer::peel_known_runner(Work& work, const std::string& name, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  auto run = [&](const std::string& code, const char* wrapper) {
    analyze_code_value(work, code, depth, wrapper);
  };
  auto emit_self = [&] {
    Work self = work;
    emit_with_directory(to_invocation(std::move(self)));
  };
  if (name == "git") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string value;
      if (args[i] == "-c" && i + 1 < args.size()) {
        value = args[++i];
      } else if (args[i].rfind("-c", 0) == 0 && args[i].size() > 2 && args[i][2] != '-') {
        value = args[i].substr(2);
      } else if (args[i].rfind("--upload-pack=", 0) == 0 || args[i].rfind("--exec=", 0) == 0 ||
                 args[i].rfind("--extcmd=", 0) == 0 || args[i].rfind("--tree-filter=", 0) == 0) {
        run(args[i].substr(args[i].find('=') + 1), "git");
        ran = true;
        continue;
      } else if (in_list(args[i],
                         {"--upload-pack", "-u", "--exec", "-x", "--extcmd", "--tree-filter",
                          "--index-filter", "--msg-filter", "--env-filter", "--commit-filter"}) &&
                 i + 1 < args.size()) {
        run(args[++i], "git");
        ran = true;
        continue;
      } else if (args[i].rfind("ext::", 0) == 0) {
        // ext::CMD ARGS: blanks split the words, "% " is a blank inside one.
        std::string code = "'";
        const std::string url = args[i].substr(5);
        for (size_t k = 0; k < url.size(); ++k) {
          if (url[k] == '%' && k + 1 < url.size() && url[k + 1] == ' ') {
            code += ' ';
            ++k;
          } else if (url[k] == ' ') {
            code += "' '";
          } else if (url[k] == '\'') {
            code += "'\\''";
          } else {
            code += url[k];
          }
        }
        run(code + "'", "git ext::");
        ran = true;
        continue;
      } else {
        continue;
      }
      const size_t eq = value.find('=');
      if (eq == std::string::npos) continue;
      std::string key = value.substr(0, eq);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string code = value.substr(eq + 1);
      const bool shell_alias = key.rfind("alias.", 0) == 0 && !code.empty() && code[0] == '!';
      const bool command_key =
          in_list(key, {"core.pager", "core.sshcommand", "core.editor", "core.fsmonitor",
                        "core.askpass", "core.gitproxy", "sequence.editor", "diff.external",
                        "gpg.program", "gpg.ssh.program", "uploadpack.packobjectshook",
                        "sendemail.sendmailcmd", "core.hookspath", "merge.tool"}) ||
          key.rfind("pager.", 0) == 0 ||
          (key.rfind("filter.", 0) == 0 &&
           (key.find(".clean") != std::string::npos || key.find(".smudge") != std::string::npos ||
            key.find(".process") != std::string::npos)) ||
          (key.rfind("credential", 0) == 0 && !code.empty() && code[0] == '!') ||
          (key.rfind("difftool.", 0) == 0 || key.rfind("mergetool.", 0) == 0);
      if (!shell_alias && !command_key) continue;
      if (!code.empty() && code[0] == '!') code.erase(0, 1);
      if (key == "core.hookspath") {
        Work hooks = work;
        hooks.inv.input_unknown = true;  // runs whatever scripts that directory holds
        emit(to_invocation(std::move(hooks)));
      } else {
        run(code, "git -c");
      }
      ran = true;
    }
    // git config [--global] alias.x '!CMD' / core.pager CMD: stored now, run by later git
    // commands; read it as if it ran.
    {
      const ScannedArgs config = scan_args(args, "Cc", {"git-dir", "work-tree", "file"}, false);
      const std::vector<std::string>& ops = config.operands;
      if (ops.size() >= 3 && ops[0] == "config") {
        std::string key = ops[1];
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const std::string& code = ops[2];
        const bool runs = (key.rfind("alias.", 0) == 0 && !code.empty() && code[0] == '!') ||
                          in_list(key, {"core.pager", "core.sshcommand", "core.editor",
                                        "core.fsmonitor", "core.askpass", "sequence.editor",
                                        "diff.external", "gpg.program", "core.gitproxy"}) ||
                          key.rfind("pager.", 0) == 0 || key.rfind("filter.", 0) == 0;
        if (runs) {
          run(code[0] == '!' ? code.substr(1) : code, "git config");
          ran = true;
        }
      }
    }
    // `git bisect run CMD`, `git submodule foreach CMD`, `git rebase --exec CMD`.
    const ScannedArgs scanned = scan_args(args, "Cc", {"git-dir", "work-tree"}, true);
    const std::vector<std::string>& ops = scanned.operands;
    if (ops.size() >= 3 && ops[0] == "bisect" && ops[1] == "run") {
      Work child = work;
      child.words.assign(work.words.end() - static_cast<long>(ops.size() - 2), work.words.end());
      peel(std::move(child), depth + 1);
      ran = true;
    }
    if (ops.size() >= 3 && ops[0] == "submodule" && ops[1] == "foreach") {
      run(join_texts(work.words, work.words.size() - (ops.size() - 2)), "git submodule");
      ran = true;
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "tar" || name == "bsdtar" || name == "gtar") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      for (std::string_view option :
           {"--to-command=", "--use-compress-program=", "--info-script=", "--new-volume-script=",
            "--rsh-command=", "--checkpoint-action=exec=", "--checkpoint-action=",
            "--compress-program="}) {
        if (arg.rfind(option, 0) == 0) {
          std::string code = arg.substr(option.size());
          if (option == "--checkpoint-action=") {
            if (code.rfind("exec=", 0) != 0) break;
            code = code.substr(5);
          }
          run(code, "tar");
          ran = true;
          break;
        }
      }
      if (in_list(arg, {"-I", "--to-command", "--use-compress-program", "-F", "--info-script",
                        "--new-volume-script", "--rsh-command"}) &&
          i + 1 < args.size()) {
        run(args[++i], "tar");
        ran = true;
      }
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "rsync" || name == "scp" || name == "sftp") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if ((arg == "-e" || arg == "--rsh" || arg == "--rsync-path") && i + 1 < args.size() &&
          name == "rsync") {
        run(args[++i], "rsync -e");
        ran = true;
      } else if ((arg.rfind("--rsh=", 0) == 0 || arg.rfind("--rsync-path=", 0) == 0) &&
                 name == "rsync") {
        run(arg.substr(arg.find('=') + 1), "rsync -e");
        ran = true;
      } else if (arg.rfind("-e", 0) == 0 && arg.size() > 2 && name == "rsync") {
        run(arg.substr(2), "rsync -e");
        ran = true;
      } else if (arg == "-S" && i + 1 < args.size() && name != "rsync") {
        run(args[++i], "scp -S");  // the program scp runs instead of ssh
        ran = true;
      } else if (arg == "-o" && i + 1 < args.size()) {
        ran |= peel_ssh_option(work, args[++i], depth);
      } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2) {
        ran |= peel_ssh_option(work, arg.substr(2), depth);
      }
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "docker" || name == "podman" || name == "nerdctl") {
    const ScannedArgs scanned = scan_args(args, "Hc", {"host", "context", "config"}, true);
    if (scanned.operands.empty() || !in_list(scanned.operands[0], {"run", "exec", "create"})) {
      return Step::kStop;
    }
    emit_self();
    Work child = work;
    child.inv.elevated = false;
    child.inv.redirections.clear();
    const size_t sub = 1 + scanned.options_end;
    if (peel_from_first_program(child, sub + 1, "docker") == Step::kContinue) {
      peel(std::move(child), depth + 1);
    }
    return Step::kDone;
  }
  if (name == "kubectl" || name == "oc") {
    const auto dashes = std::find_if(work.words.begin(), work.words.end(),
                                     [](const Expanded& word) { return word.text == "--"; });
    const ScannedArgs scanned = scan_args(args, "nc", {"namespace", "context", "container"});
    if (dashes == work.words.end() || scanned.operands.empty() ||
        !in_list(scanned.operands[0], {"exec", "run", "debug", "attach"})) {
      return Step::kStop;
    }
    emit_self();
    Work child = work;
    child.words.assign(dashes + 1, work.words.end());
    child.inv.elevated = false;
    child.inv.redirections.clear();
    child.inv.wrappers.push_back("kubectl exec");
    if (!child.words.empty()) peel(std::move(child), depth + 1);
    return Step::kDone;
  }
  if (name == "man") {
    for (size_t i = 0; i < args.size(); ++i) {
      if ((args[i] == "-P" || args[i] == "--pager" || args[i] == "-H") && i + 1 < args.size()) {
        run(args[i + 1], "man -P");
        return Step::kDone;
      }
      if (args[i].rfind("--pager=", 0) == 0 || args[i].rfind("-P", 0) == 0) {
        run(args[i].substr(args[i][1] == 'P' ? 2 : 8), "man -P");
        return Step::kDone;
      }
    }
    return Step::kStop;
  }
  if (in_list(name, {"npm", "pnpm", "yarn", "bun"}) && !args.empty() &&
      in_list(args[0], {"exec", "x", "dlx"})) {
    const ScannedArgs scanned = scan_args(std::vector<std::string>(args.begin() + 1, args.end()),
                                          "cp", {"call", "package", "workspace"}, true);
    for (std::string_view option : {"c", "call"}) {
      if (const std::string* code = scanned.value(option)) {
        run(*code, "npm exec -c");
        return Step::kDone;
      }
    }
    const size_t index = 2 + scanned.options_end;
    if (index >= work.words.size()) return Step::kStop;
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
    work.inv.wrappers.push_back("npm exec");
    return Step::kContinue;
  }
  return Step::kStop;
}

// ssh -o ProxyCommand=CMD / LocalCommand=CMD: CMD runs on this machine.
bool Analyzer::peel_ssh_option(const Work& work, const std::string& option, int depth) {
  const size_t split = option.find_first_of("= ");
  if (split == std::string::npos) return false;
  std::string key = option.substr(0, split);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!in_list(key, {"proxycommand", "localcommand", "knownhostscommand", "remotecommand"})) {
    return false;
  }
  std::string code = option.substr(split + 1);
  while (!code.empty() && (code[0] == ' ' || code[0] == '=')) code.erase(0, 1);
  analyze_code_value(work, code, depth, "ssh -o");
  return true;
}

// Interpreters with inline code, awk programs, sed scripts, vim -c and less +!: the shell
// commands they visibly run are analyzed; the invocation itself is rated by its code.
Step Analyzer::peel_inline_code(Work& work, const std::string& name, int depth) {
  const InlineCode code = scan_inline_code(name, texts_of(work.words, 1));
  for (const std::string& command : code.shell_commands) {
    analyze_nested(work, command, depth, "inline code", work.inv.elevated);
  }
  if (!is_interpreter(name)) return Step::kStop;
  const ScannedArgs scanned = scan_args(texts_of(work.words, 1), "cemErW", {}, true);
  const size_t operand = 1 + scanned.options_end;
  const bool runs_module = scanned.value("m") != nullptr;  // python -m json.tool reads data
  const bool reads_stdin = !code.present && !runs_module &&
                           (operand >= work.words.size() || names_stdin(work.words[operand].text));
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
  }
  if (!code.present && operand < work.words.size() && work.words[operand].from_subst &&
      !work.words[operand].downloads) {
    work.inv.input_unknown = true;  // python3 <(...): code from a substitution
  }
  if (reads_stdin && work.inv.args_from_stdin) work.inv.input_unknown = true;
  // python -c "$CODE": the code itself is not known.
  for (size_t i = 1; i < work.words.size(); ++i) {
    const Expanded& word = work.words[i];
    if (word.dynamic && !word.text.empty() && word.text[0] == '$' &&
        std::find(code.codes.begin(), code.codes.end(), word.text) != code.codes.end()) {
      work.inv.input_unknown = true;
    }
  }
  return Step::kStop;
}

// parallel CMD ::: ARGS, parallel ::: 'CMD1' 'CMD2', ... | parallel CMD.
Step Analyzer::peel_parallel(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "jSaI", {"jobs", "sshlogin", "arg-file", "joblog"}, true);
  const size_t command_start = 1 + scanned.options_end;
  size_t separator = command_start;
  while (separator < work.words.size() &&
         !in_list(work.words[separator].text, {":::", "::::", ":::+", "::::+"})) {
    ++separator;
  }
  std::vector<Expanded> command(work.words.begin() + static_cast<long>(command_start),
                                work.words.begin() + static_cast<long>(separator));
  std::vector<std::string> items;
  for (size_t i = separator + 1; i < work.words.size(); ++i) {
    if (!in_list(work.words[i].text, {":::", "::::", ":::+", "::::+"})) {
      items.push_back(work.words[i].text);
    }
  }
  const bool items_known = separator < work.words.size();
  if (command.empty()) {
    if (items_known) {
      for (const std::string& item : items) {
        analyze_nested(work, item, depth, "parallel", work.inv.elevated);
      }
    } else if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "parallel", work.inv.elevated);
    } else {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
      return Step::kStop;
    }
    return Step::kDone;
  }
  // Like xargs: the command gets each item, in place of {} or appended.
  std::string line = join_texts(command, 0);
  if (!items_known) {
    Work child = work;
    child.words = command;
    child.inv.args_from_stdin = true;
    child.inv.wrappers.push_back("parallel");
    peel(std::move(child), depth + 1);
    return Step::kDone;
  }
  for (const std::vector<std::string>& group : fan_out_groups(items)) {
    std::string joined;
    for (const std::string& item : group) joined += (joined.empty() ? "" : " ") + item;
    std::string one = line;
    const size_t at = one.find("{}");
    if (at != std::string::npos) {
      one.replace(at, 2, joined);
    } else {
      one += " " + joined;
    }
    analyze_nested(work, one, depth, "parallel", work.inv.elevated);
  }
  return Step::kDone;
}

// Drops words[0], its options and `extra_operands` more words; stops when nothing would be left.
Step Analyzer::drop_wrapper(Work& work, const ScannedArgs& scanned, size_t extra_operands,
                            const char* wrapper) {
  const size_t command_index = 1 + scanned.options_end + extra_operands;
  if (command_index >= work.words.size()) return Step::kStop;
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(command_index));
  work.inv.wrappers.push_back(wrapper);
  return Step::kContinue;
}

Step Analyzer::peel_sudo(Work& work, const std::string& name, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  const ScannedArgs scanned =
      name == "pkexec" ? scan_args(args, "", {"user"}, true)
                       : scan_args(args, name == "doas" ? "uC" : "ugphrtTCDUR",
                                   {"user", "group", "prompt", "host", "role", "type", "close-from",
                                    "chdir", "other-user", "command-timeout"},
                                   true);
  if (name == "sudo" && scanned.has('e')) {
    work.words[0].text = "sudoedit";
    work.words.erase(work.words.begin() + 1,
                     work.words.begin() + 1 + static_cast<long>(scanned.options_end));
    work.inv.elevated = true;
    return Step::kStop;
  }
  if (name == "sudo" &&
      (scanned.has('l') || scanned.has('v') || scanned.has('K') || scanned.has('V'))) {
    return Step::kStop;
  }
  size_t index = 1 + scanned.options_end;
  while (index < work.words.size() && is_assignment_text(work.words[index].text)) {
    work.inv.assignments.push_back(work.words[index].text);
    analyze_assignment(work.words[index].text, depth, work);
    ++index;
  }
  if (index >= work.words.size()) return Step::kStop;  // a root shell, rated by the rules
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
  work.inv.elevated = true;
  work.inv.wrappers.push_back(name);
  return Step::kContinue;
}

Step Analyzer::peel_env(Work& work, int depth) {
  size_t i = 1;
  std::optional<std::string> split_string;
  auto value_of = [&](size_t& k, std::string_view short_opt,
                      std::string_view long_opt) -> std::optional<std::string> {
    const std::string& text = work.words[k].text;
    if (text == short_opt || text == std::string("--") + std::string(long_opt)) {
      if (k + 1 >= work.words.size()) return std::string();
      return work.words[++k].text;
    }
    if (text.rfind(short_opt, 0) == 0 && text.size() > 2 && text[1] != '-') {
      return text.substr(2);
    }
    const std::string long_prefix = std::string("--") + std::string(long_opt) + "=";
    if (text.rfind(long_prefix, 0) == 0) return text.substr(long_prefix.size());
    return std::nullopt;
  };
  for (; i < work.words.size(); ++i) {
    const std::string& text = work.words[i].text;
    if (text == "--") {
      ++i;
      break;
    }
    if (auto value = value_of(i, "-S", "split-string")) {
      split_string = *value;
      continue;
    }
    if (value_of(i, "-u", "unset") || value_of(i, "-C", "chdir") || value_of(i, "-P", "path")) {
      continue;
    }
    if (is_assignment_text(text)) {
      work.inv.assignments.push_back(text);
      analyze_assignment(text, depth, work);
      continue;
    }
    if (text.size() > 1 && text[0] == '-') continue;  // -i, -0, -v, --ignore-environment
    if (text == "-") continue;
    break;
  }
  if (split_string) {
    std::string line = *split_string;
    if (i < work.words.size()) line += " " + join_texts(work.words, i);
    analyze_nested(work, line, depth, "env", work.inv.elevated);
    return Step::kDone;
  }
  if (i >= work.words.size()) return Step::kStop;
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(i));
  work.inv.wrappers.push_back("env");
  return Step::kContinue;
}

Step Analyzer::peel_xargs(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "ILnPsdEa",
                {"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "max-lines",
                 "process-slot-var", "replace", "eof"},
                true);
  std::optional<std::string> placeholder;
  if (const std::string* replace = scanned.value("I")) placeholder = *replace;
  if (const std::string* replace = scanned.value("replace")) placeholder = *replace;
  if (!placeholder && (scanned.has('i') || scanned.has_long("replace"))) placeholder = "{}";

  Work child;
  child.inv = work.inv;
  child.inv.redirections.clear();
  child.inv.stdin_opaque_pipe = false;
  child.inv.stdin_from_download = false;
  child.inv.wrappers.push_back("xargs");
  child.args_from_network = work.inv.stdin_from_download;
  const size_t command_index = 1 + scanned.options_end;
  for (size_t i = command_index; i < work.words.size(); ++i) child.words.push_back(work.words[i]);
  if (child.words.empty()) child.words.push_back(literal_word("echo"));
  // Emit xargs itself only for its redirections; the command it runs is what matters.
  if (!work.inv.redirections.empty()) {
    Work self = work;
    self.words.resize(1);
    emit(to_invocation(std::move(self)));
  }
  if (!work.stdin_text) {
    child.inv.args_from_stdin = true;
    if (placeholder && !placeholder->empty()) {
      // Each {} becomes a line of stdin that cannot be known here.
      for (Expanded& word : child.words) {
        if (word.text.find(*placeholder) == std::string::npos) continue;
        for (size_t at = word.text.find(*placeholder); at != std::string::npos;
             at = word.text.find(*placeholder, at + 7)) {
          word.text.replace(at, placeholder->size(), "$XARGS");
        }
        word.dynamic = true;
      }
    }
    peel(std::move(child), depth);
    return Step::kDone;
  }
  std::vector<std::string> tokens;
  std::string current;
  for (char c : *work.stdin_text + "\n") {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!placeholder) {
    for (std::string& token : tokens) child.words.push_back(literal_word(std::move(token)));
    peel(std::move(child), depth);
    return Step::kDone;
  }
  for (const std::vector<std::string>& group : fan_out_groups(tokens)) {
    Work copy = child;
    copy.words = substitute_items(child.words, *placeholder, group);
    peel(std::move(copy), depth);
  }
  return Step::kDone;
}

Step Analyzer::peel_find(Work& work, int depth) {
  const FindExpression expression = parse_find(texts_of(work.words, 1));
  Work self = work;
  self.words.clear();
  std::vector<std::vector<Expanded>> exec_commands;
  for (size_t i = 0; i < work.words.size(); ++i) {
    const std::string& text = work.words[i].text;
    self.words.push_back(work.words[i]);
    if (i == 0 || !in_list(text, {"-exec", "-execdir", "-ok", "-okdir"})) continue;
    std::vector<Expanded> command;
    while (i + 1 < work.words.size() && work.words[i + 1].text != ";" &&
           work.words[i + 1].text != "+") {
      command.push_back(work.words[++i]);
    }
    if (i + 1 < work.words.size()) self.words.push_back(work.words[++i]);
    if (!command.empty()) exec_commands.push_back(std::move(command));
  }
  emit(to_invocation(std::move(self)));
  for (const std::vector<Expanded>& command : exec_commands) {
    Work child;
    child.inv = work.inv;
    child.inv.redirections.clear();
    child.inv.stdin_opaque_pipe = false;
    child.inv.stdin_from_download = false;
    child.inv.wrappers.push_back("find -exec");
    child.words = command;
    // With no test narrowing the matches, the first path find hands over is the root itself.
    const bool substitute = !expression.filtered;
    for (const std::vector<std::string>& group : fan_out_groups(expression.roots)) {
      Work copy = child;
      if (substitute) copy.words = substitute_items(child.words, "{}", group);
      peel(std::move(copy), depth + 1);
      if (!substitute) break;
    }
  }
  return Step::kDone;
}

// `zsh -c`, `fish -c`, `dash -c`: the nested text is read in that shell's dialect (a shell the
// check cannot read is read as bash).
Step Analyzer::peel_shell(Work& work, int depth) {
  const Dialect saved = dialect_;
  dialect_ =
      dialect_of_shell(canonical_program(basename_of(work.words[0].text))).value_or(Dialect::kBash);
  const Step step = peel_shell_in_dialect(work, depth);
  dialect_ = saved;
  return step;
}

Step Analyzer::peel_shell_in_dialect(Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  // `+o name` is an option too; treat it like `-o name` before scanning.
  std::vector<std::string> normalized = args;
  for (std::string& arg : normalized) {
    if (arg.size() > 1 && arg[0] == '+') arg[0] = '-';
  }
  const ScannedArgs scanned = scan_args(normalized, "oO", {"rcfile", "init-file"}, true);
  const size_t operand = 1 + scanned.options_end;
  const std::string name = basename_of(work.words[0].text);
  if (scanned.has('c') || scanned.has_long("command")) {
    const std::string* long_command = scanned.value("command");
    if (long_command) {
      analyze_nested(work, *long_command, depth, "sh -c", work.inv.elevated);
      return Step::kDone;
    }
    if (operand >= work.words.size()) {
      // `xargs sh -c`: the code is the first argument read from stdin.
      if (work.inv.args_from_stdin) work.inv.input_unknown = true;
      work.inv.input_from_network = work.args_from_network;
      return Step::kStop;
    }
    analyze_nested(work, work.words[operand].text, depth, "sh -c", work.inv.elevated);
    return Step::kDone;
  }
  const bool reads_stdin =
      operand >= work.words.size() || scanned.has('s') || names_stdin(work.words[operand].text);
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
    const Expanded& script = work.words[operand];
    // bash <(...): the script is the output of a substitution.
    if (script.from_subst && !script.downloads) {
      const std::string& text = script.text;
      const std::optional<std::string> known =
          text.size() > 3 && text.rfind("<(", 0) == 0
              ? static_substitution(std::string_view(text).substr(2, text.size() - 3), dialect_)
              : std::nullopt;
      if (known) {
        analyze_nested(work, *known, depth, "sh <(...)", work.inv.elevated);
      } else {
        work.inv.input_unknown = true;
      }
    }
  } else if (work.stdin_text) {
    analyze_nested(work, *work.stdin_text, depth, "sh <<<", work.inv.elevated);
  } else if (work.inv.args_from_stdin) {
    work.inv.input_unknown = true;  // `xargs sh`: runs script files named on stdin
    work.inv.input_from_network = work.args_from_network;
  }
  return Step::kStop;
}

Step Analyzer::peel_su(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "csgG", {"command", "shell", "group", "supp-group"});
  const std::string* command = scanned.value("c");
  if (!command) command = scanned.value("command");
  if (!command) return Step::kStop;  // an interactive shell, rated by the rules
  analyze_nested(work, *command, depth, "su", true);
  return Step::kDone;
}

Step Analyzer::peel_ssh(Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) {
      peel_ssh_option(work, args[++i], depth);
    } else if (args[i].rfind("-o", 0) == 0 && args[i].size() > 2) {
      peel_ssh_option(work, args[i].substr(2), depth);
    }
  }
  const ScannedArgs scanned = scan_args(args, "BbcDEeFIiJLlmOoPpQRSWw", {}, true);
  const size_t host = 1 + scanned.options_end;
  if (host + 1 >= work.words.size()) return Step::kStop;
  analyze_nested(work, join_texts(work.words, host + 1), depth, "ssh", false);
  work.words.resize(host + 1);
  return Step::kStop;
}

}  // namespace

std::vector<Invocation> analyze_command_line(std::string_view line, Dialect dialect) {
  Analyzer analyzer(dialect);
  analyzer.analyze(line, 0, false, {});
  std::vector<Invocation> invocations = analyzer.finish();
  if (line.find('\0') != std::string_view::npos) {
    // No shell runs such a line as it reads here: argv ends at the NUL, and bash drops NULs from
    // a script or stdin (`\0rm -rf /` piped to bash runs rm -rf /).
    Invocation nul;
    nul.parse_error = "the command contains a NUL byte";
    nul.nul_byte = true;
    invocations.push_back(std::move(nul));
  }
  return invocations;
}

}  // namespace cmdai::safety
