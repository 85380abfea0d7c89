#include "generate/response_parser.h"

#include <gtest/gtest.h>

namespace cmdai {
namespace {

TEST(ResponseParser, ExtractsCommandFromFinishedString) {
  auto answer = parse_answer(R"(ls -la")");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "ls -la");
  EXPECT_EQ(answer->explanation, "");
}

TEST(ResponseParser, DecodesJsonEscapesInsideTheCommand) {
  auto answer = parse_answer(R"(grep -r \"TODO\" . | wc -l", "explanation": "Counts TODO lines."})");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, R"(grep -r "TODO" . | wc -l)");
  EXPECT_EQ(answer->explanation, "Counts TODO lines.");
}

TEST(ResponseParser, IgnoresTextAfterTheObject) {
  auto answer = parse_answer(R"(df -h", "explanation": "Disk usage."} and some chatter)");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->command, "df -h");
  EXPECT_EQ(answer->explanation, "Disk usage.");
}

TEST(ResponseParser, RejectsCommandCutOffByTokenLimit) {
  auto answer = parse_answer("find . -name '*.txt");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kGenerationFailed);
}

TEST(ResponseParser, RejectsEmptyCommand) {
  EXPECT_FALSE(parse_answer(R"(   ")").ok());
}

TEST(ResponseParser, RejectsInvalidEscape) {
  EXPECT_FALSE(parse_answer(R"(ls \q")").ok());
}

TEST(ResponseParser, StripsTerminalEscapesFromCommand) {
  auto answer = parse_answer(R"(ls \u001b[31m-la\u001b]0;title\u0007 \u0007x")");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "ls -la x");
}

TEST(ResponseParser, CompletionNeedsClosingQuoteAndBraceWhenExplaining) {
  EXPECT_FALSE(answer_complete("ls -la", false));
  EXPECT_TRUE(answer_complete("ls -la\"", false));
  EXPECT_FALSE(answer_complete(R"(echo \")", false));
  EXPECT_FALSE(answer_complete(R"(ls", "explanation": "x)", true));
  EXPECT_TRUE(answer_complete(R"(ls", "explanation": "x"})", true));
}

struct StripCase {
  std::string input;
  std::string expected;
};

class StripControl : public ::testing::TestWithParam<StripCase> {};

TEST_P(StripControl, RemovesEscapesAndControlBytes) {
  EXPECT_EQ(strip_control_and_escapes(GetParam().input), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StripControl,
    ::testing::Values(StripCase{"plain", "plain"}, StripCase{"a\x1b[2Jb", "ab"},
                      StripCase{"a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"},
                      StripCase{"bell\a\b\r", "bell"}, StripCase{"tab\tok\n", "tab\tok\n"},
                      StripCase{"caf\xc3\xa9", "caf\xc3\xa9"}, StripCase{"bad\xff\xfe", "bad"},
                      StripCase{"c1\xc2\x9b" "31m", "c131m"}, StripCase{"del\x7f", "del"}));

}  // namespace
}  // namespace cmdai
