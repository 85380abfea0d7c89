#include "safety/command_analysis.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "safety/analyzer.h"
#include "safety/effects.h"
#include "safety/fish_variables.h"
#include "safety/paths.h"
#include "safety/program_options.h"
#include "safety/programs.h"
#include "safety/shell_options.h"

namespace cmdai::safety {
namespace {

// The commands of crontab text: each entry without its five time fields (or its @keyword).
std::string cron_commands(std::string_view text) {
  std::string commands;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    const int fields = line[0] == '@' ? 1 : 5;
    for (int f = 0; f < fields && !line.empty(); ++f) {
      const size_t blank = line.find_first_of(" \t");
      line.remove_prefix(blank == std::string_view::npos ? line.size() : blank);
      const size_t next = line.find_first_not_of(" \t");
      line.remove_prefix(next == std::string_view::npos ? line.size() : next);
    }
    commands += std::string(line) + "\n";
  }
  return commands;
}

}  // namespace

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
    if (!option_changed_.empty() && !option_reported_) {
      report_changed_option(elevated, wrappers);
    }
    analyze_substitutions(commands[i], depth);
    Work work = prepare(commands, i, vars, elevated, wrappers);
    for (const std::string& assignment : update_vars(commands[i], work, vars)) {
      analyze_assignment(assignment, depth, work);
    }
    for (const std::string& assignment : work.inv.assignments) {
      analyze_assignment(assignment, depth, work);
    }
    analyze_aliases_and_options(work, depth);
    if (!work.words.empty() &&
        is_any(work.words[0].text, {"export", "declare", "local", "readonly", "typeset"})) {
      for (size_t w = 1; w < work.words.size(); ++w) {
        if (is_assignment_text(work.words[w].text)) {
          analyze_assignment(work.words[w].text, depth, work);
        }
      }
    }
    analyze_persisted_text(commands[i], work, depth);
    if (!work.words.empty()) {
      track_directory(work);
      peel(std::move(work), depth);
    } else if (!work.inv.assignments.empty() || !work.inv.redirections.empty()) {
      emit_with_directory(std::move(work.inv));
    }
  }
}

// Text written into a file that runs later as commands (`echo 'curl …|sh' >> ~/.bashrc`, a
// cron line, `… | tee -a ~/.profile`) is rated as the command it becomes; text that cannot be
// known there is unknown code.
void Analyzer::analyze_persisted_text(const SimpleCommand& command, const Work& work, int depth) {
  std::vector<std::pair<PersistedCode, bool>> targets;  // (kind, the text is known)
  SimpleCommand bare = command;
  bare.redirections.clear();
  const std::optional<std::string> output = literal_output(bare);
  for (const RedirectionTarget& redirection : work.inv.redirections) {
    if (redirection.op.find('>') == std::string::npos || redirection.op == ">&") continue;
    const PersistedCode kind = persisted_code(redirection.target);
    if (kind != PersistedCode::kNone) targets.emplace_back(kind, output.has_value());
  }
  const bool redirected = !targets.empty();
  const bool tee = !work.words.empty() && basename_of(work.words[0].text) == "tee";
  for (size_t w = 1; tee && w < work.words.size(); ++w) {
    const PersistedCode kind = persisted_code(work.words[w].text);
    if (kind != PersistedCode::kNone) targets.emplace_back(kind, work.stdin_text.has_value());
  }
  // `… | crontab -`: the new crontab is stdin.
  if (!work.words.empty() && basename_of(work.words[0].text) == "crontab" &&
      work.words.back().text == "-" && (work.stdin_text || work.inv.stdin_opaque_pipe)) {
    targets.emplace_back(PersistedCode::kCron, work.stdin_text.has_value());
  }
  for (const auto& [kind, known] : targets) {
    if (!known) {
      Invocation inv = work.inv;
      inv.program = work.words.empty() ? "" : basename_of(work.words[0].text);
      inv.wrappers.push_back("startup file");
      inv.input_unknown = true;
      emit(std::move(inv));
      continue;
    }
    std::string text = redirected ? *output : *work.stdin_text;
    if (kind == PersistedCode::kCron) text = cron_commands(text);
    analyze_nested(work, text, depth, "startup file", work.inv.elevated);
  }
}

// Aliases: a definition's text is a command (`alias x='rm -rf ~'`), and a later use of the alias
// is read with its text in place. Options: after one that changes how words are read, what the
// rest of the line means is not known here.
void Analyzer::analyze_aliases_and_options(const Work& work, int depth) {
  if (work.words.empty()) return;
  if (auto use = aliases_.expand(work.words, active_aliases_, dialect_)) {
    for (const std::string& name : use->names) active_aliases_.insert(name);
    analyze_nested(work, use->text, depth, "alias", work.inv.elevated);
    for (const std::string& name : use->names) active_aliases_.erase(name);
  }
  for (const std::string& value : aliases_.record(work.words, dialect_)) {
    analyze_nested(work, value, depth, "alias", work.inv.elevated);
  }
  if (!option_changed_.empty()) return;
  std::vector<bool> dynamic;
  for (const Expanded& word : work.words) dynamic.push_back(word.dynamic);
  if (auto option = option_changing_reading(texts_of(work.words), dynamic, dialect_)) {
    option_changed_ = work.words[0].text + " " + *option;
  }
}

// Words read after `setopt rc_quotes`, `shopt -s extglob`, `emulate sh`...: the check reads
// them with the default options, so their meaning is unknown.
void Analyzer::report_changed_option(bool elevated, const std::vector<std::string>& wrappers) {
  option_reported_ = true;
  Invocation unknown;
  unknown.program = option_changed_.substr(0, option_changed_.find(' '));
  unknown.program_path = unknown.program;
  unknown.args = {option_changed_.substr(option_changed_.find(' ') + 1)};
  unknown.elevated = elevated;
  unknown.wrappers = wrappers;
  unknown.input_unknown = true;
  emit(std::move(unknown));
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
  if (is_any(name, {"PROMPT_COMMAND", "GIT_SSH_COMMAND", "GIT_PAGER", "GIT_EDITOR", "PAGER",
                    "MANPAGER", "EDITOR", "VISUAL", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND",
                    "SSH_ASKPASS", "GIT_ASKPASS", "SUDO_ASKPASS", "BROWSER", "LESSOPEN",
                    "LESSCLOSE", "GIT_SEQUENCE_EDITOR", "FCEDIT", "SYSTEMD_PAGER"})) {
    std::string code = value;
    while (!code.empty() && (code[0] == '|' || code[0] == ' ')) code.erase(0, 1);
    analyze_code_value(work, code, depth, "assignment");
  } else if (is_any(name, {"PS0", "PS1", "PS2", "PS3", "PS4"})) {
    analyze_text_substitutions(value, depth);
  } else if (is_any(name, {"BASH_ENV", "ENV", "LD_PRELOAD", "LD_AUDIT"}) && !value.empty()) {
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
  for (const Word& word : command.words) {
    if (dialect_ == Dialect::kFish) {
      append_fish_expanded(work.words, word, vars);
    } else {
      append_expanded(work.words, expand_word(word, vars, dialect_));
    }
  }
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
        if (is_network_source(quick_program(commands[j]))) work.inv.stdin_from_download = true;
        if (theirs.stage == mine.stage - 1) producers.push_back(j);
      }
    }
  }
  if (!reads_pipe) return;
  if (producers.size() == 1) work.stdin_text = literal_output(commands[producers[0]]);
  if (!work.stdin_text) work.inv.stdin_opaque_pipe = true;
}

// Records what `command` assigns; returns the assignments made by fish's `set`, whose values
// are rated like bash assignments (PAGER=..., PROMPT_COMMAND=...).
std::vector<std::string> Analyzer::update_vars(const SimpleCommand& command, const Work& work,
                                               Vars& vars) const {
  // A command that may not run, or runs in a subshell, a function or a block, leaves its
  // variables unknown after it: `false && X=rm` keeps whatever X was.
  const bool conditional = command.conditional || !command.pipes.empty() || command.background;
  if (dialect_ == Dialect::kFish && !work.words.empty() && work.words[0].text == "set") {
    return apply_fish_set(work.words, conditional, vars);
  }
  auto assign = [&vars, conditional](const std::string& text, bool known) {
    known &= !conditional;
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
    return {};
  }
  const std::string& program = work.words[0].text;
  if (is_any(program, {"export", "declare", "local", "readonly", "typeset"})) {
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
  } else if (is_any(program, {"read", "mapfile", "readarray", "printf", "getopts"})) {
    // read NAME, printf -v NAME: the variable gets a value not known here.
    for (size_t i = 1; i < work.words.size(); ++i) vars.erase(work.words[i].text);
  } else if (program == "unset") {
    for (size_t i = 1; i < work.words.size(); ++i) vars.erase(work.words[i].text);
  }
  return {};
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
      is_any(head.text, {"$EDITOR", "${EDITOR}", "$VISUAL", "${VISUAL}", "$PAGER", "${PAGER}",
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
  if (is_any(program, {"rm", "rmdir", "unlink", "shred", "chmod", "chown", "chgrp", "mv", "cp",
                       "ln", "truncate", "find", "tee", "install", "wipefs", "dd"})) {
    bool first_operand = true;
    for (std::string& arg : resolved.args) {
      if (arg.empty() || arg[0] == '-') continue;
      const bool mode_operand = first_operand && is_any(program, {"chmod", "chown", "chgrp"});
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
      is_any(inv.program, {"source", ".", "at", "batch"})) {
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
// `frobnicate -e 'rm -rf ~'`: an argument of an unknown program that reads as a command line
// of a known program may be run through a shell, so it is rated as one.
void Analyzer::analyze_command_arguments(const Work& work, size_t from, int depth) {
  for (size_t i = from; i < work.words.size(); ++i) {
    const Expanded& word = work.words[i];
    std::string text = word.text;
    // --run='CMD': the option's value.
    const size_t eq = text.find('=');
    if (text.rfind("-", 0) == 0 && eq != std::string::npos && eq < text.find(' ')) {
      text.erase(0, eq + 1);
    }
    const size_t blank = text.find_first_of(" \t\n");
    if (word.dynamic || word.from_subst || blank == std::string::npos || blank == 0) continue;
    if (is_known_program(canonical_program(basename_of(text.substr(0, blank))))) {
      analyze_nested(work, text, depth, "unknown program", work.inv.elevated);
    }
  }
}

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
  analyze_command_arguments(rest, 0, depth);
  rest.inv.wrappers.push_back("unknown program");
  peel(std::move(rest), depth + 1);
}

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
