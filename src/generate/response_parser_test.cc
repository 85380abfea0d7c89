#include "generate/response_parser.h"

#include <gtest/gtest.h>

namespace cmdai {
namespace {

TEST(ResponseParser, CommandIsTheFirstLine) {
  auto answer = parse_answer("ls -la\n# next request\n");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "ls -la");
}

TEST(ResponseParser, KeepsQuotesHashesAndPipesInsideTheCommand) {
  auto answer = parse_answer("  grep -rn \"#include\" . | wc -l  \n");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "grep -rn \"#include\" . | wc -l");
}

TEST(ResponseParser, ExplanationIsTheFirstLineCleanedAndTrimmed) {
  EXPECT_EQ(parse_explanation(" disk usage of every \x1b[1mmounted\x1b[0m filesystem\n# x\n"),
            "disk usage of every mounted filesystem");
  EXPECT_EQ(parse_explanation("   \n"), "");
}

TEST(ResponseParser, TakesAnUnendedLineAsItStands) {
  auto answer = parse_answer("find . -name '*.txt");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "find . -name '*.txt");
}

TEST(ResponseParser, RejectsBlankCommentAndFenceAnswers) {
  for (const char* bad : {"   \n", "\n", "", "# list files\n", "```bash\n"}) {
    auto answer = parse_answer(bad);
    ASSERT_FALSE(answer.ok()) << "'" << bad << "'";
    EXPECT_EQ(answer.error().code, ErrorCode::kGenerationFailed);
  }
}

TEST(ResponseParser, StripsTerminalEscapesFromCommand) {
  auto answer = parse_answer("ls \x1b[31m-la\x1b]0;title\a \ax\n");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(answer->command, "ls -la x");
}

TEST(ResponseParser, DropsOverlongSurrogateAndOutOfRangeSequencesAModelCanEmit) {
  // A byte-level vocabulary can emit any bytes: only well-formed UTF-8 may reach the command.
  auto answer = parse_answer("ls caf\xC3\xA9\xE0\x80\xAF\xED\xA0\x80\xF4\x90\x80\x80.txt\n");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->command, "ls caf\xC3\xA9.txt");
}

TEST(ResponseParser, CompleteAtTheEndOfTheLine) {
  EXPECT_FALSE(answer_complete("ls -la"));
  EXPECT_TRUE(answer_complete("ls -la\n"));
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
                      StripCase{"c1\xc2\x9b"
                                "31m",
                                "c131m"},
                      StripCase{"del\x7f", "del"}));

}  // namespace
}  // namespace cmdai
