#include "tokenizer/stream_decoder.h"

#include <gtest/gtest.h>

#include "tokenizer/testing_vocab_spec.h"
#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

bool is_valid_utf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = decode_utf8(text, pos);
    if (c.codepoint == kInvalidCodepoint) return false;
    pos += c.size_bytes;
  }
  return true;
}

struct Loaded {
  std::vector<uint8_t> bytes;
  std::optional<Tokenizer> tokenizer;
};

Loaded load_small_bpe() {
  Loaded loaded{testing::small_bpe_spec().bytes(), std::nullopt};
  Result<gguf::GgufFile> file = testing::parse_spec(loaded.bytes);
  if (!file.ok()) return loaded;
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  if (tokenizer.ok()) loaded.tokenizer.emplace(std::move(tokenizer).value());
  return loaded;
}

TEST(StreamDecoder, HoldsAMultiByteCharacterUntilItsLastByte) {
  Loaded loaded = load_small_bpe();
  ASSERT_TRUE(loaded.tokenizer);
  StreamDecoder decoder(*loaded.tokenizer);
  // "€" is E2 82 AC; byte tokens have ids equal to their byte.
  EXPECT_EQ(decoder.push(0xE2), "");
  EXPECT_EQ(decoder.push(0x82), "");
  EXPECT_EQ(decoder.push(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(decoder.push(259), "hello");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(StreamDecoder, ReplacesBytesThatCanNeverFormACharacter) {
  Loaded loaded = load_small_bpe();
  ASSERT_TRUE(loaded.tokenizer);
  StreamDecoder decoder(*loaded.tokenizer);
  EXPECT_EQ(decoder.push(0xE2), "");
  EXPECT_EQ(decoder.push('h'), "\xEF\xBF\xBDh");  // the held lead byte is broken by 'h'
  EXPECT_EQ(decoder.push(0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.push(0xF0), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");  // the stream ended mid-character
}

TEST(StreamDecoder, SkipsControlTokensUnlessAsked) {
  Loaded loaded = load_small_bpe();
  ASSERT_TRUE(loaded.tokenizer);
  StreamDecoder plain(*loaded.tokenizer);
  EXPECT_EQ(plain.push(260), "");
  StreamDecoder rendered(*loaded.tokenizer, /*render_special=*/true);
  EXPECT_EQ(rendered.push(260), "<|im_end|>");
}

TEST(StreamDecoder, StreamsQwenEmojiAndCjkTextSplitAcrossTokens) {
  const std::optional<std::string> path = testing::testdata_file("ggml-vocab-qwen2.5-coder.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  const std::string text =
      "ls \xF0\x9F\x9A\x80 \xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B "
      "\xE6\x96\x87\xE4\xBB\xB6\xE5\xA4\xB9 "
      "\xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F";
  const std::vector<int32_t> ids = tokenizer->encode(text, false, false);
  const bool splits_a_character = std::any_of(ids.begin(), ids.end(), [&](int32_t id) {
    return !is_valid_utf8(tokenizer->token_to_bytes(id));
  });
  ASSERT_TRUE(splits_a_character) << "the text no longer exercises split characters";

  StreamDecoder decoder(*tokenizer);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(is_valid_utf8(piece));
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, text);
}

}  // namespace
}  // namespace cmdai::tokenizer
