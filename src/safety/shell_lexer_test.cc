#include "safety/shell_lexer.h"

#include <gtest/gtest.h>

#include <string>

namespace cmdai::safety {
namespace {

// One line per simple command: words separated by '|', then " fd op target" per redirection,
// then " @stage" per enclosing pipeline, " &" when backgrounded and " in:F" inside function F.
std::string render(const ParsedLine& line) {
  std::string out;
  for (const SimpleCommand& command : line.commands) {
    if (!out.empty()) out += " ; ";
    std::string words;
    for (const Word& word : command.assignments)
      words += (words.empty() ? "" : "|") + word.display();
    for (const Word& word : command.words) words += (words.empty() ? "" : "|") + word.display();
    out += words;
    for (const Redirection& redirection : command.redirections) {
      out += " ";
      if (redirection.fd >= 0) out += std::to_string(redirection.fd);
      out += redirection.op + redirection.target.display();
    }
    for (const PipeStage& pipe : command.pipes) out += " @" + std::to_string(pipe.stage);
    if (command.background) out += " &";
    if (!command.function_name.empty()) out += " in:" + command.function_name;
  }
  return out;
}

struct LexCase {
  const char* input;
  const char* expected;
};

class ShellLexerTable : public testing::TestWithParam<LexCase> {};

TEST_P(ShellLexerTable, SplitsIntoTheExpectedSimpleCommands) {
  const LexCase& c = GetParam();
  auto parsed = lex_shell(c.input);
  ASSERT_TRUE(parsed.ok()) << c.input << ": " << parsed.error().message;
  EXPECT_EQ(render(*parsed), c.expected) << "input: " << c.input;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ShellLexerTable,
    testing::Values(
        LexCase{"ls -la", "ls|-la"}, LexCase{"  ls\t-la  ", "ls|-la"},
        LexCase{"echo 'a b' \"c d\"", "echo|a b|c d"}, LexCase{"r''m -rf /", "rm|-rf|/"},
        LexCase{"\\rm x", "rm|x"}, LexCase{"echo \"a\\\"b\\$c\\x\"", "echo|a\"b$c\\x"},
        LexCase{"echo $'\\x72\\155\\n'", "echo|rm\n"},
        LexCase{"echo $HOME ${USER} $1", "echo|$HOME|$USER|$1"},
        LexCase{"echo \"$(date +%s)\"", "echo|$(date +%s)"},
        LexCase{"echo `uname -a`", "echo|$(uname -a)"},
        LexCase{"echo $(echo $(echo hi))", "echo|$(echo $(echo hi))"},
        LexCase{"echo $((1 + 2))", "echo|$((1 + 2))"},
        LexCase{"diff <(sort a) <(sort b)", "diff|<(sort a)|<(sort b)"},
        LexCase{"a && b || c; d & e", "a ; b ; c ; d & ; e"},
        LexCase{"curl x | sh", "curl|x @0 ; sh @1"}, LexCase{"a | b |& c", "a @0 ; b @1 ; c @2"},
        LexCase{"(a | b) | c", "a @0 @0 ; b @0 @1 ; c @1"},
        LexCase{"ls > out 2>&1", "ls >out 2>&1"},
        LexCase{"cmd >> log 2> err < in", "cmd >>log 2>err <in"},
        LexCase{"cmd &> all >| force", "cmd &>all >|force"}, LexCase{"> /dev/sda", " >/dev/sda"},
        LexCase{"bash <<< 'rm x'", "bash <<<rm x"},
        LexCase{"cat <<EOF > f\nhello\nEOF\nls", "cat <<hello\n >f ; ls"},
        LexCase{"cat <<-'END'\n\tbody\n\tEND", "cat <<body\n"},
        LexCase{"X=1 Y=2 env", "X=1|Y=2|env"}, LexCase{"X=1", "X=1"},
        LexCase{"arr=(a b) ; ls", "arr=ab ; ls"}, LexCase{"{ a; b; } > f", "a >f ; b >f"},
        LexCase{"( cd /tmp && ls )", "cd|/tmp ; ls"},
        LexCase{"if a; then b; elif c; then d; else e; fi", "a ; b ; c ; d ; e"},
        LexCase{"for f in *.txt; do echo $f; done", "echo|$f"},
        LexCase{"while read l; do echo $l; done < in", "read|l <in ; echo|$l <in"},
        LexCase{"if a; then b; fi > f", "a >f ; b >f"},
        LexCase{"case $x in a|b) one;; *) two;; esac", "one ; two"},
        LexCase{":(){ :|:& };:", ": @0 & in:: ; : @1 & in:: ; :"},
        LexCase{"function f { g; }; f", "g in:f ; f"}, LexCase{"f() { g; }", "g in:f"},
        LexCase{"(( i++ )); ls", "ls"}, LexCase{"echo a # comment", "echo|a"},
        LexCase{"echo a\\\nb", "echo|ab"}, LexCase{"ls\nrm x", "ls ; rm|x"},
        LexCase{"find . -exec rm {} \\;", "find|.|-exec|rm|{}|;"},
        LexCase{"! grep -q x f", "grep|-q|x|f"}, LexCase{"echo \"\"", "echo|"}, LexCase{"", ""}));

class ShellLexerErrors : public testing::TestWithParam<const char*> {};

TEST_P(ShellLexerErrors, RejectsMalformedInput) {
  EXPECT_FALSE(lex_shell(GetParam()).ok()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Inputs, ShellLexerErrors,
                         testing::Values("echo 'abc", "echo \"abc", "echo $(ls", "echo `ls",
                                         "echo ${x", "echo $'x", "(ls", "ls )", "{ ls;",
                                         "ls | | wc", "ls |", "ls &&", "| ls", "echo $((1+2)",
                                         "case x in a) b;;"));

TEST(ShellLexer, RejectsNestingDeeperThan64Levels) {
  std::string line;
  for (int i = 0; i < 100; ++i) line += "$(";
  line += "ls";
  for (int i = 0; i < 100; ++i) line += ")";
  auto parsed = lex_shell(line);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("nested"), std::string::npos) << parsed.error().message;
}

TEST(ShellLexer, RejectsLinesOver64KiB) {
  EXPECT_FALSE(lex_shell(std::string(70 * 1024, 'a')).ok());
}

// The words the shell expands outside simple commands, joined by " ; ".
std::string expanded_words(std::string_view input) {
  auto parsed = lex_shell(input);
  if (!parsed.ok()) return "error: " + parsed.error().message;
  std::string out;
  for (const Word& word : parsed->expanded_words) {
    out += (out.empty() ? "" : " ; ") + word.display();
  }
  return out;
}

TEST(ShellLexer, KeepsTheWordsOfCaseForAndArithmeticCommands) {
  EXPECT_EQ(expanded_words("case $(a) in $(b)) c;; esac"), "$(a) ; $(b)");
  EXPECT_EQ(expanded_words("for f in $(a) x; do echo; done"), "for ; f ; in ; $(a) ; x");
  EXPECT_EQ(expanded_words("(( a[$(b)] = 1 ))"), "$(( a[$(b)] = 1 ))");
  EXPECT_EQ(expanded_words("for ((i=0; i<3; i++)); do echo $i; done"), "for ; $((i=0; i<3; i++))");
}

TEST(ShellLexer, ExpandsUnquotedHereDocumentsOnly) {
  auto live = lex_shell("cat <<EOF\nhi $(a)\nEOF");
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->commands[0].redirections[0].target.is_literal());
  auto quoted = lex_shell("cat <<'EOF'\nhi $(a)\nEOF");
  ASSERT_TRUE(quoted.ok());
  EXPECT_TRUE(quoted->commands[0].redirections[0].target.is_literal());
}

TEST(ShellLexer, ReadsTheCommandAfterTimeAndCoproc) {
  auto timed = lex_shell("time { rm x; }");
  ASSERT_TRUE(timed.ok());
  EXPECT_EQ(render(*timed), "rm|x");
  auto coproc = lex_shell("coproc NAME { rm x; }; coproc rm y");
  ASSERT_TRUE(coproc.ok());
  EXPECT_EQ(render(*coproc), "rm|x ; rm|y");
}

TEST(ShellLexer, ReadsTextTheWayAHereDocumentIsExpanded) {
  auto word = lex_expanding_text("a '$(b)' \"${c:-`d`}\"");
  ASSERT_TRUE(word.ok());
  EXPECT_EQ(word->display(), "a '$(b)' \"${c:-`d`}\"");
  EXPECT_FALSE(word->is_literal());
  EXPECT_FALSE(lex_expanding_text("$(unterminated").ok());
}

TEST(ShellLexer, SaysWhenALimitWasHitRatherThanASyntaxError) {
  std::string line;
  for (int i = 0; i < 100; ++i) line += "$(";
  line += "ls";
  for (int i = 0; i < 100; ++i) line += ")";
  EXPECT_EQ(lex_shell(line).error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(lex_shell(std::string(70 * 1024, 'a')).error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(lex_shell("echo 'x").error().code, ErrorCode::kInvalidArgument);
}

TEST(ShellLexer, SurvivesEveryPrefixOfATrickyLine) {
  // Each prefix ends mid-quote, mid-substitution or mid-operator at some point; none may crash.
  const std::string line =
      "sudo -u x env A=\"$(echo 'a b')\" bash -c \"rm -rf ${HOME:-/}\" | tee >(cat) 2>&1 && "
      "{ :(){ :|:& };:; } <<<$'\\x41'; echo `ls` $((1+2))";
  for (size_t n = 0; n <= line.size(); ++n) (void)lex_shell(line.substr(0, n));
  EXPECT_TRUE(lex_shell(line).ok());
}

}  // namespace
}  // namespace cmdai::safety
