#include "tokenizer/byte_level.h"

#include <gtest/gtest.h>

#include <string>

#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

std::string encode(std::string_view bytes) {
  std::string text;
  for (const char b : bytes) append_utf8(byte_to_codepoint(static_cast<uint8_t>(b)), text);
  return text;
}

std::string decoded(std::string_view text) {
  std::string out = "<";  // appends, never replaces
  append_byte_level_decoded(text, out);
  return out;
}

TEST(ByteLevel, EveryByteRoundTrips) {
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    EXPECT_EQ(decoded(encode(byte)), "<" + byte) << "byte " << b;
  }
}

TEST(ByteLevel, DecodesMixedTokens) {
  EXPECT_EQ(decoded("\xC4\xA0hello"), "< hello");       // U+0120 = space
  EXPECT_EQ(decoded("ls\xC4\x8A\xC4\x8A"), "<ls\n\n");  // U+010A = newline
  EXPECT_EQ(decoded(encode("caf\xC3\xA9 -la\t")), "<caf\xC3\xA9 -la\t");
  EXPECT_EQ(decoded(""), "<");
}

TEST(ByteLevel, KeepsCharactersOutsideTheAlphabet) {
  // Raw ASCII control characters and codepoints past the alphabet pass through as UTF-8.
  EXPECT_EQ(decoded("a\x01 b"), "<a\x01 b");
  EXPECT_EQ(decoded("x\xE4\xBD\xA0y"), "<x\xE4\xBD\xA0y");  // U+4F60
}

}  // namespace
}  // namespace cmdai::tokenizer
