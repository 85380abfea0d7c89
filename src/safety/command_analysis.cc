#include "safety/command_analysis.h"

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "safety/arg_scan.h"
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

bool is_downloader(std::string_view program) {
  return in_list(program, {"curl", "wget", "fetch", "http", "https", "xh", "aria2c", "lynx",
                           "w3m", "links"});
}

bool is_shell(std::string_view program) {
  return in_list(program, {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh",
                           "tcsh", "yash", "rbash"});
}

bool is_interpreter(std::string_view program) {
  return in_list(program, {"python", "python2", "python3", "perl", "ruby", "node", "nodejs",
                           "php", "lua", "pwsh"});
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
  bool split_candidate = false;  // an unquoted expansion produced blanks: the shell splits it
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
    if (!in_list(name, {"sudo", "doas", "env", "nice", "nohup", "time", "command", "exec",
                        "stdbuf", "timeout", "ionice", "setsid", "busybox", "unbuffer",
                        "pkexec"})) {
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

std::string decode_printf_escapes(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char e = text[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else {
      out += text[i];
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
    while (i < words.size() && words[i].size() > 1 && words[i][0] == '-' &&
           words[i].find_first_not_of("neE", 1) == std::string::npos) {
      ++i;
    }
    std::string out;
    for (; i < words.size(); ++i) out += (out.empty() ? "" : " ") + words[i];
    return out;
  }
  if (program == "printf" && words.size() >= 2) {
    std::string format = decode_printf_escapes(words[1]);
    std::string out;
    size_t next_arg = 2;
    for (size_t i = 0; i < format.size(); ++i) {
      if (format[i] != '%') {
        out += format[i];
      } else if (i + 1 < format.size() && format[i + 1] == 's') {
        if (next_arg < words.size()) out += words[next_arg++];
        ++i;
      } else {
        return std::nullopt;
      }
    }
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> static_substitution(std::string_view inner) {
  auto parsed = lex_shell(inner);
  if (!parsed.ok() || parsed->commands.size() != 1) return std::nullopt;
  const SimpleCommand& command = parsed->commands[0];
  if (!command.pipes.empty() || !command.assignments.empty()) return std::nullopt;
  std::optional<std::string> output = literal_output(command);
  while (output && !output->empty() && output->back() == '\n') output->pop_back();
  return output;
}

bool line_downloads(std::string_view line, int depth) {
  if (depth > 4) return false;
  auto parsed = lex_shell(line);
  if (!parsed.ok()) return false;
  for (const SimpleCommand& command : parsed->commands) {
    if (is_downloader(quick_program(command))) return true;
    for (const Word& word : command.words) {
      for (const WordPart& part : word.parts) {
        if ((part.kind == PartKind::kCommandSubst || part.kind == PartKind::kProcessSubst) &&
            line_downloads(part.text, depth + 1)) {
          return true;
        }
      }
    }
  }
  return false;
}

Expanded expand_variable(const WordPart& part, const Vars& vars) {
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
  if (rest.empty()) {
    if (known != vars.end()) {
      out.text = known->second;
    } else {
      out.text = "$" + (body.size() == name.size() ? body : "{" + body + "}");
      out.dynamic = true;
    }
    return out;
  }
  for (std::string_view op : {":-", ":=", "-", "="}) {
    if (rest.substr(0, op.size()) != op) continue;
    const bool use_value =
        known != vars.end() && (op[0] != ':' || !known->second.empty());
    out.text = use_value ? known->second : std::string(rest.substr(op.size()));
    return out;
  }
  out.text = "${" + body + "}";
  out.dynamic = true;
  return out;
}

Expanded expand_word(const Word& word, const Vars& vars) {
  Expanded out;
  for (const WordPart& part : word.parts) {
    switch (part.kind) {
      case PartKind::kLiteral:
        out.text += part.text;
        if (!part.quoted && part.text.find('{') != std::string::npos) out.brace_candidate = true;
        break;
      case PartKind::kVariable: {
        Expanded value = expand_variable(part, vars);
        out.text += value.text;
        out.dynamic |= value.dynamic;
        if (!part.quoted && value.text.find_first_of(" \t\n") != std::string::npos) {
          out.split_candidate = true;
        }
        break;
      }
      case PartKind::kCommandSubst:
        if (std::optional<std::string> known = static_substitution(part.text)) {
          out.text += *known;
          if (!part.quoted && known->find_first_of(" \t\n") != std::string::npos) {
            out.split_candidate = true;
          }
          break;
        }
        [[fallthrough]];
      case PartKind::kProcessSubst:
        out.text += (part.kind == PartKind::kProcessSubst ? "<(" : "$(") + part.text + ")";
        out.dynamic = true;
        out.from_subst = true;
        out.downloads |= line_downloads(part.text, 0);
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
      brace_expand(text.substr(0, open) + text.substr(start, comma - start) +
                       text.substr(close + 1),
                   out);
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
    for (char c : word.text + " ") {
      if (c == ' ' || c == '\t' || c == '\n') {
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
    return;
  }
  // Matching braces is quadratic in the word's length, so very long words stay unexpanded.
  if (!word.brace_candidate || word.text.size() > kMaxBraceWordBytes ||
      word.text.find(',') == std::string::npos) {
    words.push_back(std::move(word));
    return;
  }
  std::vector<std::string> texts;
  brace_expand(word.text, texts);
  for (std::string& text : texts) {
    Expanded copy = word;
    copy.text = std::move(text);
    words.push_back(std::move(copy));
  }
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
};

enum class Step { kContinue, kStop, kDone };

class Analyzer {
 public:
  void analyze(std::string_view line, int depth, bool elevated,
               const std::vector<std::string>& wrappers);
  std::vector<Invocation> finish() {
    if (truncated_) {
      Invocation error;
      error.parse_error = "the command is too large or too deeply nested to check fully";
      error.beyond_limits = true;
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
    out_.push_back(std::move(inv));
  }
  void emit_error(std::string message, bool elevated, const std::vector<std::string>& wrappers) {
    Invocation error;
    error.parse_error = std::move(message);
    error.elevated = elevated;
    error.wrappers = wrappers;
    emit(std::move(error));
  }
  void analyze_nested(const Work& work, const std::string& text, int depth, const char* wrapper,
                      bool elevated) {
    std::vector<std::string> wrappers = work.inv.wrappers;
    wrappers.push_back(wrapper);
    analyze(text, depth + 1, elevated, wrappers);
  }

  void analyze_substitutions(const SimpleCommand& command, int depth);
  Work prepare(const std::vector<SimpleCommand>& commands, size_t index, const Vars& vars,
               bool elevated, const std::vector<std::string>& wrappers);
  void connect_pipeline(const std::vector<SimpleCommand>& commands, size_t index, Work& work);
  static void update_vars(const SimpleCommand& command, const Work& work, Vars& vars);

  void peel(Work work, int depth);
  Invocation to_invocation(Work work);
  Step peel_step(const std::string& name, Work& work, int depth);
  Step drop_wrapper(Work& work, const ScannedArgs& scanned, size_t extra_operands,
                    const char* wrapper);
  Step peel_sudo(Work& work, const std::string& name);
  Step peel_env(Work& work, int depth);
  Step peel_xargs(Work& work, int depth);
  Step peel_find(Work& work, int depth);
  Step peel_shell(Work& work, int depth);
  Step peel_interpreter(Work& work);
  Step peel_su(Work& work, int depth);
  Step peel_ssh(Work& work, int depth);

  std::vector<Invocation> out_;
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
    Invocation error;
    error.parse_error = "commands are nested more than 12 levels deep";
    error.beyond_limits = true;
    error.elevated = elevated;
    error.wrappers = wrappers;
    emit(std::move(error));
    return;
  }
  auto parsed = lex_shell(line);
  if (!parsed.ok()) {
    emit_error(parsed.error().message, elevated, wrappers);
    return;
  }
  Vars vars = {{"HOME", "~"}, {"PWD", "."}};
  const std::vector<SimpleCommand>& commands = parsed->commands;
  for (size_t i = 0; i < commands.size(); ++i) {
    analyze_substitutions(commands[i], depth);
    Work work = prepare(commands, i, vars, elevated, wrappers);
    update_vars(commands[i], work, vars);
    if (!work.words.empty()) {
      peel(std::move(work), depth);
    } else if (!work.inv.assignments.empty() || !work.inv.redirections.empty()) {
      emit(std::move(work.inv));
    }
  }
}

void Analyzer::analyze_substitutions(const SimpleCommand& command, int depth) {
  auto visit = [&](const Word& word) {
    for (const WordPart& part : word.parts) {
      if (part.kind == PartKind::kCommandSubst || part.kind == PartKind::kProcessSubst) {
        analyze(part.text, depth + 1, false, {});
      }
    }
  };
  for (const Word& word : command.assignments) visit(word);
  for (const Word& word : command.words) visit(word);
  for (const Redirection& redirection : command.redirections) visit(redirection.target);
}

Work Analyzer::prepare(const std::vector<SimpleCommand>& commands, size_t index, const Vars& vars,
                       bool elevated, const std::vector<std::string>& wrappers) {
  const SimpleCommand& command = commands[index];
  Work work;
  work.inv.elevated = elevated;
  work.inv.wrappers = wrappers;
  for (const Word& word : command.assignments) {
    work.inv.assignments.push_back(expand_word(word, vars).text);
  }
  for (const Word& word : command.words) append_expanded(work.words, expand_word(word, vars));
  connect_pipeline(commands, index, work);
  for (const Redirection& redirection : command.redirections) {
    Expanded target = expand_word(redirection.target, vars);
    const bool feeds_stdin = redirection.op == "<" || redirection.op == "<<<" ||
                             redirection.op == "<<";
    if (feeds_stdin) {
      work.inv.stdin_opaque_pipe = false;
      work.inv.stdin_from_download |= target.downloads;
      work.stdin_text.reset();
    }
    if ((redirection.op == "<<" || redirection.op == "<<<") && !target.dynamic) {
      work.stdin_text = target.text;
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
    if (eq == std::string::npos || !is_assignment_text(text)) return;
    const std::string name = text.substr(0, eq);
    if (known) {
      vars[name] = text.substr(eq + 1);
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
    for (size_t i = 1; i < work.words.size(); ++i) {
      assign(work.words[i].text, !work.words[i].dynamic);
    }
  } else if (program == "unset") {
    for (size_t i = 1; i < work.words.size(); ++i) vars.erase(work.words[i].text);
  }
}

Invocation Analyzer::to_invocation(Work work) {
  Invocation inv = std::move(work.inv);
  const Expanded& head = work.words[0];
  inv.program = head.dynamic ? head.text : basename_of(head.text);
  inv.program_from_substitution = head.from_subst;
  inv.program_from_download = head.downloads;
  inv.program_dynamic = head.dynamic && !head.from_subst;
  for (size_t i = 1; i < work.words.size(); ++i) {
    inv.args.push_back(work.words[i].text);
    inv.operand_from_download |= work.words[i].downloads;
  }
  return inv;
}

void Analyzer::peel(Work work, int depth) {
  for (int guard = 0; guard < 32 && !work.words.empty(); ++guard) {
    if (work.words[0].dynamic) break;
    const std::string name = basename_of(work.words[0].text);
    const Step step = peel_step(name, work, depth);
    if (step == Step::kDone) return;
    if (step == Step::kStop) break;
  }
  if (!work.words.empty()) emit(to_invocation(std::move(work)));
}

Step Analyzer::peel_step(const std::string& name, Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  auto scan = [&args](std::string_view shorts, const std::vector<std::string_view>& longs) {
    return scan_args(args, shorts, longs, true);
  };
  if (name == "sudo" || name == "doas" || name == "pkexec") return peel_sudo(work, name);
  if (name == "env") return peel_env(work, depth);
  if (name == "xargs") return peel_xargs(work, depth);
  if (name == "find") return peel_find(work, depth);
  if (is_shell(name)) return peel_shell(work, depth);
  if (is_interpreter(name)) return peel_interpreter(work);
  if (name == "su") return peel_su(work, depth);
  if (name == "ssh") return peel_ssh(work, depth);
  if (name == "eval") {
    analyze_nested(work, join_texts(work.words, 1), depth, "eval", work.inv.elevated);
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
    const ScannedArgs scanned = scan("wEc", {"timeout", "conflict-exit-code", "command"});
    if (const std::string* command = scanned.value("c")) {
      analyze_nested(work, *command, depth, "flock", work.inv.elevated);
      return Step::kDone;
    }
    return drop_wrapper(work, scanned, 1, "flock");
  }
  if (name == "command") {
    const ScannedArgs scanned = scan("", {});
    if (scanned.has('v') || scanned.has('V')) return Step::kStop;
    return drop_wrapper(work, scanned, 0, "command");
  }
  if (name == "busybox") return drop_wrapper(work, scan("", {}), 0, "busybox");
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
  return Step::kStop;
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

Step Analyzer::peel_sudo(Work& work, const std::string& name) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  const ScannedArgs scanned =
      name == "pkexec"
          ? scan_args(args, "", {"user"}, true)
          : scan_args(args, name == "doas" ? "uC" : "ugphrtTCDUR",
                      {"user", "group", "prompt", "host", "role", "type", "close-from", "chdir",
                       "other-user", "command-timeout"},
                      true);
  if (name == "sudo" && scanned.has('e')) {
    work.words[0].text = "sudoedit";
    work.words.erase(work.words.begin() + 1,
                     work.words.begin() + 1 + static_cast<long>(scanned.options_end));
    work.inv.elevated = true;
    return Step::kStop;
  }
  if (name == "sudo" && (scanned.has('l') || scanned.has('v') || scanned.has('K') ||
                         scanned.has('V'))) {
    return Step::kStop;
  }
  size_t index = 1 + scanned.options_end;
  while (index < work.words.size() && is_assignment_text(work.words[index].text)) {
    work.inv.assignments.push_back(work.words[index].text);
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
  auto value_of = [&](size_t& k, std::string_view short_opt, std::string_view long_opt)
      -> std::optional<std::string> {
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
  for (size_t t = 0; t < tokens.size() && t < kMaxFanOut; ++t) {
    Work copy = child;
    for (Expanded& word : copy.words) {
      for (size_t at = word.text.find(*placeholder);
           !placeholder->empty() && at != std::string::npos;
           at = word.text.find(*placeholder, at + tokens[t].size())) {
        word.text.replace(at, placeholder->size(), tokens[t]);
      }
    }
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
    for (size_t r = 0; r < expression.roots.size() && r < kMaxFanOut; ++r) {
      Work copy = child;
      if (substitute) {
        for (Expanded& word : copy.words) {
          if (word.text == "{}") word.text = expression.roots[r];
        }
      }
      peel(std::move(copy), depth + 1);
      if (!substitute) break;
    }
  }
  return Step::kDone;
}

Step Analyzer::peel_shell(Work& work, int depth) {
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
    if (operand >= work.words.size()) return Step::kStop;
    analyze_nested(work, work.words[operand].text, depth, "sh -c", work.inv.elevated);
    return Step::kDone;
  }
  const bool reads_stdin =
      operand >= work.words.size() || scanned.has('s') || work.words[operand].text == "-";
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
  } else if (work.stdin_text) {
    analyze_nested(work, *work.stdin_text, depth, "sh <<<", work.inv.elevated);
  }
  return Step::kStop;
}

Step Analyzer::peel_interpreter(Work& work) {
  const ScannedArgs scanned = scan_args(texts_of(work.words, 1), "cemE", {}, true);
  const bool inline_code = scanned.value("c") || scanned.value("e") || scanned.value("m") ||
                           scanned.value("E");
  const size_t operand = 1 + scanned.options_end;
  const bool reads_stdin =
      !inline_code && (operand >= work.words.size() || work.words[operand].text == "-");
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
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
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "BbcDEeFIiJLlmOoPpQRSWw", {}, true);
  const size_t host = 1 + scanned.options_end;
  if (host + 1 >= work.words.size()) return Step::kStop;
  analyze_nested(work, join_texts(work.words, host + 1), depth, "ssh", false);
  work.words.resize(host + 1);
  return Step::kStop;
}

}  // namespace

std::vector<Invocation> analyze_command_line(std::string_view line) {
  Analyzer analyzer;
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
