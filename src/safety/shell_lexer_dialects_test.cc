// The zsh and fish grammars of the lexer (shell_lexer.cc), and which commands are conditional:
// each expected reading was checked against zsh 5.9 and fish 3.6 with stub programs.
#include <gtest/gtest.h>

#include <string>

#include "safety/shell_lexer.h"

namespace cmdai::safety {
namespace {

// A word's parts: literals as text, `$name` variables, `$(...)` command and `<(...)` process
// substitutions, `$((...))` arithmetic; words joined by '|'.
std::string render_word(const Word& word) {
  std::string out;
  for (const WordPart& part : word.parts) {
    switch (part.kind) {
      case PartKind::kLiteral:
        out += part.text;
        break;
      case PartKind::kVariable:
        out += "$" + part.text;
        break;
      case PartKind::kCommandSubst:
        out += "$(" + part.text + ")";
        break;
      case PartKind::kProcessSubst:
        out += "<(" + part.text + ")";
        break;
      case PartKind::kArithmetic:
        out += "$((" + part.text + "))";
        break;
    }
  }
  return out;
}

// One entry per simple command, joined by " ; ": its words, " OP TARGET" per redirection,
// " @stage" per pipeline, " &" in the background, " in:F" inside function F and " ?" when it
// is conditional (it may not run, or its variables do not outlive it).
std::string render(const ParsedLine& line) {
  std::string out;
  for (const SimpleCommand& command : line.commands) {
    if (!out.empty()) out += " ; ";
    std::string words;
    for (const Word& word : command.assignments) {
      words += (words.empty() ? "" : "|") + render_word(word);
    }
    for (const Word& word : command.words) {
      words += (words.empty() ? "" : "|") + render_word(word);
    }
    out += words;
    for (const Redirection& redirection : command.redirections) {
      out += " " + redirection.op + render_word(redirection.target);
    }
    for (const PipeStage& pipe : command.pipes) out += " @" + std::to_string(pipe.stage);
    if (command.background) out += " &";
    if (!command.function_name.empty()) out += " in:" + command.function_name;
    if (command.conditional) out += " ?";
  }
  return out;
}

std::string expanded(const ParsedLine& line) {
  std::string out;
  for (const Word& word : line.expanded_words) {
    out += (out.empty() ? "" : " ; ") + render_word(word);
  }
  return out;
}

struct DialectCase {
  Dialect dialect;
  const char* input;
  const char* commands;  // render()
  const char* words;     // expanded(): case, for and switch words
};

class DialectLexerTable : public testing::TestWithParam<DialectCase> {};

TEST_P(DialectLexerTable, ReadsTheCommandsTheShellRuns) {
  const DialectCase& c = GetParam();
  auto parsed = lex_shell(c.input, c.dialect);
  ASSERT_TRUE(parsed.ok()) << dialect_name(c.dialect) << ": " << c.input << ": "
                           << parsed.error().message;
  EXPECT_EQ(render(*parsed), c.commands) << dialect_name(c.dialect) << ": " << c.input;
  EXPECT_EQ(expanded(*parsed), c.words) << dialect_name(c.dialect) << ": " << c.input;
}

constexpr Dialect kFish = Dialect::kFish;
constexpr Dialect kZsh = Dialect::kZsh;
constexpr Dialect kBash = Dialect::kBash;

INSTANTIATE_TEST_SUITE_P(
    Fish, DialectLexerTable,
    testing::Values(
        DialectCase{kFish, "echo (ls) x(pwd)y", "echo|$(ls)|x$(pwd)y", ""},
        DialectCase{kFish, "echo \"(ls)\" \"$HOME/x\" \"$(id)\"", "echo|(ls)|$HOME/x|$(id)", ""},
        DialectCase{kFish, "echo `ls`", "echo|`ls`", ""},
        DialectCase{kFish, "\\x72m -rf x", "rm|-rf|x", ""},
        DialectCase{kFish, "echo 'a\\'b\\\\c' 'd\\ne'", "echo|a'b\\c|d\\ne", ""},
        DialectCase{kFish, "echo $x[1] $$y", "echo|$!x|$!y", ""},
        DialectCase{kFish, "set x rm; and $x -rf y; or z", "set|x|rm ; $x|-rf|y ? ; z ?", ""},
        DialectCase{kFish, "not a; a && b || c", "a ; a ; b ? ; c ?", ""},
        DialectCase{kFish, "begin; set -l x 1; end > f", "set|-l|x|1 >f ?", ""},
        DialectCase{kFish, "if a; b; else if c; d; else; e; end; f",
                    "a ? ; b ? ; c ? ; d ? ; e ? ; f", ""},
        DialectCase{kFish, "for f in (ls); rm $f; end", "rm|$f ?", "f ; in ; $(ls)"},
        DialectCase{kFish, "switch $x; case 'a*'; b; case '*'; c; end", "b ? ; c ?", "$x ; a* ; *"},
        DialectCase{kFish, "function f --on-event fish_prompt; rm x; end", "rm|x in:f ?", ""},
        DialectCase{kFish, "a &| b", "a @0 ; b @1", ""},
        DialectCase{kFish, "echo hi >? f", "echo|hi >f", ""},
        DialectCase{kFish, "a & b", "a & ; b", ""}));

INSTANTIATE_TEST_SUITE_P(
    Zsh, DialectLexerTable,
    testing::Values(DialectCase{kZsh, "=rm -rf x", "rm|-rf|x", ""},
                    DialectCase{kZsh, "diff =(ls) x", "diff|<(ls)|x", ""},
                    DialectCase{kZsh, "ls *(e:'rm -rf x':)", "ls|*(e:'rm -rf x':)$(rm -rf x)", ""},
                    DialectCase{kZsh, "{ a } always { b }", "a ; b", ""},
                    DialectCase{kZsh, "repeat 3 a; b", "a ? ; b", "3"},
                    DialectCase{kZsh, "foreach x (a $(b)) c; end", "c ?", "a ; $(b)"},
                    DialectCase{kZsh, "a &| b &!", "a & ; b &", ""},
                    DialectCase{kZsh, "echo >! f >>! g", "echo >|f >>g", ""},
                    DialectCase{kZsh, "ls (a|b)*", "ls|(a|b)*", ""},
                    DialectCase{kZsh, "echo ${(e)x} $~y ${=z}", "echo|$(e)x|$y|$z", ""},
                    DialectCase{kZsh, "alias -g G='| sh'; ls G", "alias|-g|G=| sh ; ls|G", ""}));

INSTANTIATE_TEST_SUITE_P(
    Conditional, DialectLexerTable,
    testing::Values(DialectCase{kBash, "X=1 && Y=2 || Z=3; W=4", "X=1 ; Y=2 ? ; Z=3 ? ; W=4", ""},
                    DialectCase{kBash, "(X=1); { Y=2; }", "X=1 ? ; Y=2", ""},
                    DialectCase{kBash, "f() { X=1; }; Y=2", "X=1 in:f ? ; Y=2", ""},
                    DialectCase{kBash, "if a; then X=1; fi; Y=2", "a ? ; X=1 ? ; Y=2", ""},
                    DialectCase{kBash, "while a; do X=1; done; Y=2", "a ? ; X=1 ? ; Y=2", ""},
                    DialectCase{kBash, "case a in a) X=1;; esac; Y=2", "X=1 ? ; Y=2", "a ; a"},
                    DialectCase{kBash, "a && { X=1; }; Y=2", "a ; X=1 ? ; Y=2", ""}));

class DialectLexerErrors : public testing::TestWithParam<std::pair<Dialect, const char*>> {};

TEST_P(DialectLexerErrors, RejectsWhatTheShellRejects) {
  const auto& [dialect, input] = GetParam();
  EXPECT_FALSE(lex_shell(input, dialect).ok()) << dialect_name(dialect) << ": " << input;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, DialectLexerErrors,
    testing::Values(std::pair{kFish, "cat <<EOF\nx\nEOF"}, std::pair{kFish, "echo ${x}"},
                    std::pair{kFish, "cat <<< x"}, std::pair{kFish, "echo $x[(ls)]"},
                    std::pair{kFish, "begin; ls"}, std::pair{kFish, "end"},
                    std::pair{kFish, "else"}, std::pair{kFish, "function; ls; end"},
                    std::pair{kFish, "echo (ls"}, std::pair{kFish, "echo 'a\\'"},
                    std::pair{kZsh, "foreach x a b; c; end"}, std::pair{kZsh, "foreach x (a; end"},
                    std::pair{kZsh, "ls *(e:x"}, std::pair{kZsh, "{ a } always b"}));

TEST(DialectLexer, ReadsFishParenthesesAsSubstitutionsNotSubshells) {
  auto bash = lex_shell("(rm x)", Dialect::kBash);
  ASSERT_TRUE(bash.ok());
  EXPECT_EQ(render(*bash), "rm|x ?");  // a subshell
  auto fish = lex_shell("(rm x)", Dialect::kFish);
  ASSERT_TRUE(fish.ok());
  ASSERT_EQ(fish->commands.size(), 1u);
  ASSERT_EQ(fish->commands[0].words.size(), 1u);
  EXPECT_EQ(fish->commands[0].words[0].parts[0].kind, PartKind::kCommandSubst);
}

TEST(DialectLexer, SurvivesEveryPrefixOfTrickyFishAndZshLines) {
  const std::string fish =
      "set -gx x (echo \\x72m 'a\\'b'); and begin; $x[1] -rf $$y; end &| source; "
      "function f --on-event e; eval $x; end; switch $z; case '*'; echo \"$(id)\"; end";
  const std::string zsh =
      "=rm -rf ${(e)x} *(e:'rm y':) =(ls) >! f &!; foreach i (a b) repeat 2 { c } always { d }; "
      "end; alias -g G='| sh'; setopt rc_quotes";
  for (size_t n = 0; n <= fish.size(); ++n) (void)lex_shell(fish.substr(0, n), Dialect::kFish);
  for (size_t n = 0; n <= zsh.size(); ++n) (void)lex_shell(zsh.substr(0, n), Dialect::kZsh);
  EXPECT_TRUE(lex_shell(fish, Dialect::kFish).ok());
  EXPECT_TRUE(lex_shell(zsh, Dialect::kZsh).ok());
}

}  // namespace
}  // namespace cmdai::safety
