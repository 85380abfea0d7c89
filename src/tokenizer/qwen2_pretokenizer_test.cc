#include "tokenizer/qwen2_pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cmdai::tokenizer {
namespace {

struct SplitCase {
  std::string text;
  std::vector<std::string> pieces;
};

void PrintTo(const SplitCase& split, std::ostream* os) {
  *os << ::testing::PrintToString(split.text);
}

class Qwen2Pretokenizer : public ::testing::TestWithParam<SplitCase> {};

TEST_P(Qwen2Pretokenizer, SplitsLikeTheQwen2Regex) {
  std::vector<std::string_view> views;
  qwen2_pretokenize(GetParam().text, views);
  const std::vector<std::string> pieces(views.begin(), views.end());
  EXPECT_EQ(pieces, GetParam().pieces);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Qwen2Pretokenizer,
    ::testing::Values(SplitCase{"", {}}, SplitCase{"Hello world", {"Hello", " world"}},
                      SplitCase{"   Hello", {"  ", " Hello"}},  // \s+(?!\S) leaves one space
                      SplitCase{"a  ", {"a", "  "}},            // trailing run stays whole
                      SplitCase{"it's THEY'RE we'll", {"it", "'s", " THEY", "'RE", " we", "'ll"}},
                      SplitCase{"'x", {"'x"}},            // not a contraction: a prefix
                      SplitCase{"123", {"1", "2", "3"}},  // one digit per piece
                      SplitCase{"x2y", {"x", "2", "y"}}, SplitCase{"a\n\nb", {"a", "\n\n", "b"}},
                      SplitCase{"x  \n  y", {"x", "  \n", " ", " y"}},  // \s*[\r\n]+ then \s+(?!\S)
                      SplitCase{"!!!\n\nabc", {"!!!\n\n", "abc"}},  // symbols keep their newlines
                      SplitCase{"a ?b", {"a", " ?", "b"}},
                      SplitCase{"\tfoo", {"\tfoo"}},  // any non-newline prefix
                      SplitCase{"\nfoo", {"\n", "foo"}},
                      SplitCase{"find . -name '*.txt'",
                                {"find", " .", " -", "name", " '*.", "txt", "'"}},
                      SplitCase{"\xE6\x88\x91\xE6\x83\xB3"
                                "apple",
                                {"\xE6\x88\x91\xE6\x83\xB3"
                                 "apple"}},
                      SplitCase{"\xC2\xA0word", {"\xC2\xA0word"}},  // NBSP is whitespace, not \n
                      SplitCase{"\xFF\xFE"
                                "ab",
                                {"\xFF\xFE", "ab"}}));  // bad UTF-8 counts as symbols

}  // namespace
}  // namespace cmdai::tokenizer
