// The command visitor behind analyze_command_line: walks every simple command of a line, expands
// its words and peels wrappers (wrappers.cc) until the program that runs is reached. Internal.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "safety/aliases.h"
#include "safety/arg_scan.h"
#include "safety/dialect.h"
#include "safety/invocation.h"
#include "safety/shell_lexer.h"
#include "safety/word_expansion.h"

namespace cmdai::safety {

constexpr int kMaxNesting = 12;
constexpr size_t kMaxInvocations = 4096;
// Bytes of nested command text analyzed per line, all levels together. Each level can hand
// its text on twice (as a substitution and as an eval/sh -c string), so without a budget
// deep nesting would cost exponential time. 256 KiB keeps the slowest line the grammar fuzzer
// found at ~60 ms in a release build on a 2-vCPU Zen 3 (1 MiB allowed ~200 ms); the lexer's own
// limit is a 64 KiB line, so a long flat line is still checked whole.
constexpr size_t kAnalysisBudgetBytes = 1 << 18;

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
  void analyze_aliases_and_options(const Work& work, int depth);
  void report_changed_option(bool elevated, const std::vector<std::string>& wrappers);
  void track_directory(const Work& work);
  void emit_unknown_program(Work work, int depth);
  void analyze_persisted_text(const SimpleCommand& command, const Work& work, int depth);
  void analyze_command_arguments(const Work& work, size_t from, int depth);
  void emit_with_directory(Invocation inv);
  Step peel_table_wrapper(Work& work, const std::string& name, int depth);
  bool peel_ssh_option(const Work& work, const std::string& option, int depth);
  Step peel_known_runner(Work& work, const std::string& name, int depth);
  Step peel_inline_code(Work& work, const std::string& name, int depth);
  void read_stdin_as_code(Work& work, const std::string& name, int depth);
  Step peel_make(Work& work, const std::vector<std::string>& args, int depth);
  Step peel_parallel(Work& work, int depth);
  Step peel_from_first_program(Work& work, size_t from, const char* wrapper);
  void analyze_code_value(const Work& work, const std::string& code, int depth,
                          const char* wrapper);
  Work prepare(const std::vector<SimpleCommand>& commands, size_t index, const Vars& vars,
               bool elevated, const std::vector<std::string>& wrappers);
  void connect_pipeline(const std::vector<SimpleCommand>& commands, size_t index, Work& work);
  std::vector<std::string> update_vars(const SimpleCommand& command, const Work& work,
                                       Vars& vars) const;

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
  std::set<std::string> downloaded_;      // files a downloader wrote earlier on the line
  AliasTable aliases_;                    // aliases defined so far on the line
  std::set<std::string> active_aliases_;  // being replaced: an alias never expands itself
  std::string option_changed_;            // "setopt NAME": an option the check does not model
  bool option_reported_ = false;
  bool truncated_ = false;
  size_t budget_left_bytes_ = kAnalysisBudgetBytes;
};

}  // namespace cmdai::safety
