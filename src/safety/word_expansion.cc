#include "safety/word_expansion.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "safety/fish_variables.h"
#include "safety/programs.h"

namespace cmdai::safety {

Expanded literal_word(std::string text) {
  Expanded word;
  word.text = std::move(text);
  return word;
}

// Paths through which a program reads its own standard input as a file.
bool names_stdin(std::string_view path) {
  return is_any(path, {"/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-"});
}

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
  if (is_any(program, {"ssh-agent", "dircolors", "gpg-agent", "keychain", "resize"})) {
    return true;
  }
  const bool init_word = std::any_of(words.begin() + 1, words.end(), [](const std::string& w) {
    return is_any(w, {"init", "hook", "shellenv", "env", "activate", "completion", "completions",
                      "shell", "--sh", "-s", "--bash", "--zsh", "--alias", "docker-env",
                      "podman-env", "signin", "shell.bash", "shell.zsh"});
  });
  return init_word &&
         is_any(program, {"cmdai",    "direnv",         "pyenv",    "rbenv",   "nodenv",
                          "goenv",    "jenv",           "starship", "zoxide",  "brew",
                          "fnm",      "mise",           "rtx",      "conda",   "thefuck",
                          "atuin",    "mcfly",          "fzf",      "kubectl", "helm",
                          "gh",       "rustup",         "pip",      "npm",     "uv",
                          "poetry",   "oh-my-posh",     "luarocks", "opam",    "nvm",
                          "asdf",     "micromamba",     "pdm",      "just",    "docker",
                          "minikube", "docker-machine", "op"});
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

// The program a command runs once simple wrappers are skipped; "" when not literal.
std::string quick_program(const SimpleCommand& command) {
  const std::vector<Word>& words = command.words;
  size_t i = 0;
  for (int guard = 0; guard < 8 && i < words.size(); ++guard) {
    if (!words[i].is_literal()) return "";
    const std::string name = basename_of(words[i].display());
    if (!is_any(name, {"sudo", "doas", "env", "nice", "nohup", "time", "command", "exec", "stdbuf",
                       "timeout", "ionice", "setsid", "busybox", "unbuffer", "pkexec"})) {
      return name;
    }
    ++i;
    while (i < words.size() && words[i].is_literal()) {
      const std::string text = words[i].display();
      if (text.empty() || (text[0] != '-' && !is_assignment_text(text))) break;
      if (is_any(text, {"-u", "-g", "-n", "-C", "-p", "-s", "-k"})) ++i;
      ++i;
    }
    if (name == "timeout") ++i;
  }
  return "";
}

namespace {

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

}  // namespace

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
    if (is_network_source(quick_program(command))) return true;
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

namespace {

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

}  // namespace

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
        if (dialect == Dialect::kFish) {
          // fish never splits a value; a list in quotes is its values joined by blanks.
          if (const auto known = vars.find(part.text); known != vars.end()) {
            std::string joined;
            for (const std::string& value : decode_fish_list(known->second)) {
              joined += (joined.empty() ? "" : " ") + value;
            }
            out.text += joined;
            break;
          }
        }
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

namespace {

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

}  // namespace

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

std::vector<std::string> texts_of(const std::vector<Expanded>& words, size_t from) {
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

}  // namespace cmdai::safety
