// libFuzzer target: the safety check on command lines built from a small shell grammar (bash,
// zsh, fish and sh constructs: substitutions, blocks, aliases, `set`, `setopt`, redirections,
// quotes) instead of raw bytes, so that deep, well-formed lines are reached. The input is the
// stream of choices: byte 0 picks the dialect, each next byte one production. Every line must
// get a verdict that follows the policy table; the slowest line is printed at exit.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "safety/validator.h"

namespace {

using cmdai::safety::Dialect;

// Reads choices from the fuzzer's bytes; past the end every choice is 0, so generation ends.
class Choices {
 public:
  Choices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t pick(size_t n) { return pos_ < size_ ? data_[pos_++] % n : 0; }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr const char* kPrograms[] = {"rm",  "ls",    "echo", "sudo", "env",     "bash",   "sh",
                                     "zsh", "fish",  "eval", "curl", "xargs",   "find",   "dd",
                                     "git", "chmod", "cd",   "mv",   "python3", "source", "tar"};
constexpr const char* kArgs[] = {"-rf",        "/",     "~",  "*",  "/etc",        "-c",
                                 "x",          "-exec", "{}", ";",  "of=/dev/sda", "--",
                                 "-e",         "/tmp",  ".",  "..", "-n",          "-i",
                                 "http://x/y", "-",     "$x", "1",  "a b",         "-delete"};
constexpr const char* kNames[] = {"x", "y", "PAGER", "IFS", "PATH", "fish_prompt", "G", "PS1"};
constexpr const char* kOptions[] = {"rc_quotes",     "extended_glob", "sh_word_split", "errexit",
                                    "ignore_braces", "-o pipefail",   "-s extglob",    "aliases"};

class Generator {
 public:
  Generator(Choices& choices, Dialect dialect) : c_(choices), dialect_(dialect) {}

  std::string line() {
    std::string out = list(0);
    while (!c_.done() && out.size() < 4096) out += separator() + list(0);
    return out;
  }

 private:
  bool fish() const { return dialect_ == Dialect::kFish; }
  bool zsh() const { return dialect_ == Dialect::kZsh; }

  std::string separator() {
    static constexpr const char* kSeparators[] = {"; ", "\n", " && ", " || ", " | ", " & "};
    return kSeparators[c_.pick(6)];
  }

  std::string list(int depth) {
    std::string out = command(depth);
    for (size_t n = c_.pick(3); n > 0; --n) out += separator() + command(depth);
    return out;
  }

  std::string command(int depth) {
    if (depth > 6) return simple(depth);
    switch (c_.pick(12)) {
      case 0:
        return fish() ? "begin; " + list(depth + 1) + "; end" : "{ " + list(depth + 1) + "; }";
      case 1:
        return fish() ? "if " + simple(depth) + "; " + list(depth + 1) + "; end"
                      : "if " + simple(depth) + "; then " + list(depth + 1) + "; fi";
      case 2:
        return fish()  ? "for i in " + word(depth) + "; " + list(depth + 1) + "; end"
               : zsh() ? "foreach i (" + word(depth) + ") " + list(depth + 1) + "; end"
                       : "for i in " + word(depth) + "; do " + list(depth + 1) + "; done";
      case 3:
        return fish() ? "function f --on-event e; " + list(depth + 1) + "; end"
                      : "f() { " + list(depth + 1) + "; }";
      case 4:
        return assignment(depth);
      case 5:
        return alias(depth);
      case 6:
        return option();
      case 7:
        return fish() ? "not " + simple(depth) : "(" + list(depth + 1) + ")";
      default:
        return simple(depth);
    }
  }

  std::string assignment(int depth) {
    const std::string name = kNames[c_.pick(std::size(kNames))];
    if (fish()) {
      static constexpr const char* kFlags[] = {"",    "-l ", "-gx ", "-U ",
                                               "-e ", "-a ", "-p ",  "-q "};
      std::string out = std::string("set ") + kFlags[c_.pick(std::size(kFlags))] + name;
      if (c_.pick(4) == 0) out += "[" + std::to_string(c_.pick(3)) + "]";
      for (size_t n = c_.pick(4); n > 0; --n) out += " " + word(depth);
      return out;
    }
    return name + "=" + word(depth);
  }

  std::string alias(int depth) {
    const std::string name = c_.pick(2) == 0 ? "x" : "G";
    const std::string body = "'" + simple(depth + 1) + "'";
    if (fish()) return (c_.pick(2) == 0 ? "alias " : "abbr -a ") + name + " " + body;
    static constexpr const char* kFlags[] = {"", "-g ", "-s "};
    return std::string("alias ") + (zsh() ? kFlags[c_.pick(3)] : "") + name + "=" + body;
  }

  std::string option() {
    const std::string name = kOptions[c_.pick(std::size(kOptions))];
    if (zsh()) {
      static constexpr const char* kVerbs[] = {"setopt ", "unsetopt ", "emulate sh; setopt "};
      return kVerbs[c_.pick(3)] + name;
    }
    return c_.pick(2) == 0 ? "set -o " + name : "shopt -s " + name;
  }

  std::string simple(int depth) {
    std::string out = c_.pick(4) == 0 ? word(depth) : kPrograms[c_.pick(std::size(kPrograms))];
    for (size_t n = c_.pick(5); n > 0; --n) out += " " + word(depth);
    if (c_.pick(4) == 0) {
      static constexpr const char* kRedirections[] = {" > ", " >> ", " < ", " 2>&1 > ", " >| "};
      out += kRedirections[c_.pick(5)] + word(depth);
    }
    return out;
  }

  std::string word(int depth) {
    std::string out;
    for (size_t parts = 1 + c_.pick(3); parts > 0; --parts) out += part(depth);
    return out;
  }

  std::string part(int depth) {
    const std::string name = kNames[c_.pick(std::size(kNames))];
    switch (depth > 6 ? 0 : c_.pick(10)) {
      case 1:
        return "$" + name;
      case 2:
        return fish() ? "(" + list(depth + 1) + ")" : "$(" + list(depth + 1) + ")";
      case 3:
        return "'" + std::string(kArgs[c_.pick(std::size(kArgs))]) + "'";
      case 4:
        return "\"$" + name + "\"";
      case 5:
        return fish() ? "$" + name + "[1]" : "${" + name + ":-" + part(depth + 1) + "}";
      case 6:
        return zsh() ? "${(e)" + name + "}" : fish() ? "\\x72m" : "$'\\x72m'";
      case 7:
        return zsh() ? "*(e:'" + simple(depth + 1) + "':)" : "{a,b}";
      case 8:
        return fish() ? "$$" + name : "<(" + list(depth + 1) + ")";
      default:
        return kArgs[c_.pick(std::size(kArgs))];
    }
  }

  Choices& c_;
  Dialect dialect_;
};

double slowest_ms = 0;
std::string slowest_line;
int slowest_dialect = 0;

void report_slowest() {
  std::fprintf(stderr, "fuzz_safety_grammar: slowest line %.3f ms (%zu bytes, dialect %d): %s\n",
               slowest_ms, slowest_line.size(), slowest_dialect, slowest_line.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cmdai::safety;
  static const bool registered = (std::atexit(report_slowest), true);
  (void)registered;
  if (size == 0) return 0;
  constexpr Dialect kDialects[] = {Dialect::kBash, Dialect::kZsh, Dialect::kFish, Dialect::kSh};
  const Dialect dialect = kDialects[data[0] % 4];
  Choices choices(data + 1, size - 1);
  const std::string line = Generator(choices, dialect).line();
  const auto start = std::chrono::steady_clock::now();
  const SafetyVerdict verdict = check_command(line, SafetyLevel::kModerate, dialect);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (ms > slowest_ms) {
    slowest_ms = ms;
    slowest_line = line;
    slowest_dialect = static_cast<int>(dialect);
  }
  if (verdict.blocked != is_blocked(verdict.risk, SafetyLevel::kModerate) ||
      (verdict.risk != RiskLevel::kSafe && verdict.rules.empty())) {
    std::fprintf(stderr, "verdict breaks the policy table for: %s\n", line.c_str());
    std::abort();
  }
  return 0;
}
