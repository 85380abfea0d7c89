#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "base/sanitizers.h"
#include "tokenizer/testing_vocab_spec.h"

namespace cmdai::tokenizer {
namespace {

using testing::VocabSpec;

// Keeps the GGUF bytes alive for as long as the test wants (the tokenizer itself does not need
// them after loading).
struct Loaded {
  std::vector<uint8_t> bytes;
  std::optional<Tokenizer> tokenizer;
};

Loaded load(const VocabSpec& spec) {
  Loaded loaded{spec.bytes(), std::nullopt};
  Result<gguf::GgufFile> file = testing::parse_spec(loaded.bytes);
  EXPECT_TRUE(file.ok()) << file.error().to_string();
  if (!file.ok()) return loaded;
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  if (tokenizer.ok()) loaded.tokenizer.emplace(std::move(tokenizer).value());
  return loaded;
}

TEST(BpeTokenizer, AppliesMergesLowestRankFirstAndLeftmostOnTies) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->encode("hello", false, false), std::vector<int32_t>{259});
  EXPECT_EQ(loaded.tokenizer->encode("hellohe", false, false), (std::vector<int32_t>{259, 256}));
  EXPECT_EQ(loaded.tokenizer->encode("lll", false, false), (std::vector<int32_t>{257, 'l'}));
  // " hello" is one pre-token; no merge takes the space symbol, the rest merges as before.
  EXPECT_EQ(loaded.tokenizer->encode(" hello", false, false), (std::vector<int32_t>{' ', 259}));
}

TEST(BpeTokenizer, ParsesControlTokensOnlyWhenAsked) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->encode("he<|im_end|>", false, true),
            (std::vector<int32_t>{256, 260}));
  const std::vector<int32_t> plain = loaded.tokenizer->encode("he<|im_end|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 260), 0);
  EXPECT_EQ(loaded.tokenizer->decode(plain), "he<|im_end|>");
}

TEST(BpeTokenizer, MatchesUserDefinedTokensEvenWithoutParseSpecial) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->encode("<tool_call>he", false, false),
            (std::vector<int32_t>{262, 256}));
}

TEST(BpeTokenizer, AddsBosOnlyWhenTheVocabAsksForIt) {
  VocabSpec spec = testing::small_bpe_spec();
  Loaded without = load(spec);
  ASSERT_TRUE(without.tokenizer);
  EXPECT_EQ(without.tokenizer->encode("he", true, false), std::vector<int32_t>{256});
  spec.add_bos = true;
  Loaded with = load(spec);
  ASSERT_TRUE(with.tokenizer);
  EXPECT_EQ(with.tokenizer->encode("he", true, false), (std::vector<int32_t>{261, 256}));
  EXPECT_EQ(with.tokenizer->encode("he", false, false), std::vector<int32_t>{256});
}

TEST(BpeTokenizer, RoundTripsBytesThatAreNotUtf8) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  const std::string text("\xFF\x00\x80 hello\xC3", 10);
  const std::vector<int32_t> ids = loaded.tokenizer->encode(text, false, false);
  EXPECT_EQ(loaded.tokenizer->decode(ids), text);
}

TEST(Tokenizer, DecodeLeavesOutControlTokensUnlessAskedAndKeepsUserDefinedOnes) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  const std::vector<int32_t> ids = {261, 259, 262, 260};
  EXPECT_EQ(loaded.tokenizer->decode(ids), "hello<tool_call>");
  EXPECT_EQ(loaded.tokenizer->decode(ids, /*render_special=*/true),
            "<|endoftext|>hello<tool_call><|im_end|>");
  EXPECT_EQ(loaded.tokenizer->token_to_bytes(260), "<|im_end|>");
}

TEST(Tokenizer, IgnoresIdsOutsideTheVocab) {
  Loaded loaded = load(testing::small_bpe_spec());
  ASSERT_TRUE(loaded.tokenizer);
  const std::vector<int32_t> ids = {-1, 259, 263, 1 << 30};
  EXPECT_EQ(loaded.tokenizer->decode(ids), "hello");
  EXPECT_EQ(loaded.tokenizer->token_to_bytes(-7), "");
  EXPECT_FALSE(loaded.tokenizer->is_eog(1 << 30));
}

TEST(SpmTokenizer, MergesHighestScoreFirstWithSpacePrefix) {
  Loaded loaded = load(testing::small_spm_spec());
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->encode("ab", false, false), std::vector<int32_t>{264});
  EXPECT_EQ(loaded.tokenizer->encode("ba", false, false), (std::vector<int32_t>{259, 261, 260}));
  EXPECT_EQ(loaded.tokenizer->encode("ab ab", false, false), (std::vector<int32_t>{264, 264}));
}

TEST(SpmTokenizer, FallsBackToByteTokensForUnknownCharacters) {
  Loaded loaded = load(testing::small_spm_spec());
  ASSERT_TRUE(loaded.tokenizer);
  // "é" is C3 A9: byte tokens <0xC3> and <0xA9> sit at 3 + byte.
  EXPECT_EQ(loaded.tokenizer->encode("a\xC3\xA9", false, false),
            (std::vector<int32_t>{262, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(loaded.tokenizer->decode(loaded.tokenizer->encode("a\xC3\xA9 z", false, false)),
            "a\xC3\xA9 z");
}

TEST(SpmTokenizer, AddsBosByDefaultAndDecodeDropsTheLeadingSpace) {
  Loaded loaded = load(testing::small_spm_spec());
  ASSERT_TRUE(loaded.tokenizer);
  const std::vector<int32_t> ids = loaded.tokenizer->encode("ab  b", true, false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(loaded.tokenizer->decode(ids), "ab  b");
}

TEST(SpmTokenizer, PutsASpaceAfterEachParsedSpecialToken) {
  Loaded loaded = load(testing::small_spm_spec());
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_EQ(loaded.tokenizer->encode("ab</s>ab", false, true), (std::vector<int32_t>{264, 2, 264}));
}

// Arbitrary bytes (broken UTF-8, NULs, control characters) must survive encode + decode.
TEST(QwenTokenizer, RoundTripsRandomBytes) {
  const std::optional<std::string> path = testing::testdata_file("ggml-vocab-qwen2.5-coder.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  std::mt19937 random(1234);
  const std::string alphabet =
      std::string("ab \n\r\t'1.<|>\0", 13) + "\xE2\x82\xAC\xF0\x9F\x9A\x80\xC3";
  for (int round = 0; round < 300; ++round) {
    std::string text(random() % 64, '\0');
    for (char& c : text) {
      c = round % 2 ? static_cast<char>(random() % 256) : alphabet[random() % alphabet.size()];
    }
    const std::vector<int32_t> ids = tokenizer->encode(text, false, round % 3 == 0);
    EXPECT_EQ(tokenizer->decode(ids, /*render_special=*/true), text);
  }
}

TEST(SpmTokenizer, RoundTripsRandomBytesOnStories) {
  const std::optional<std::string> path = testing::testdata_file("stories260K.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found: stories260K.gguf";
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  std::mt19937 random(99);
  for (int round = 0; round < 300; ++round) {
    std::string text(1 + random() % 48, '\0');
    for (char& c : text) c = static_cast<char>(round % 2 ? random() % 256 : 'a' + random() % 27);
    if (text[0] == ' ') text[0] = 'x';  // a leading space is SentencePiece's own prefix
    const std::vector<int32_t> ids = tokenizer->encode(text, true, false);
    EXPECT_EQ(tokenizer->decode(ids), text);
  }
}

constexpr bool kSanitized = kBuiltWithAddressSanitizer || kBuiltWithThreadSanitizer;

TEST(QwenTokenizer, EncodesAVeryLongWordWithoutBlowingUp) {
  const std::optional<std::string> path = testing::testdata_file("ggml-vocab-qwen2.5-coder.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  file->close();  // the tokenizer keeps its own copy of the vocab
  // One 1 MB pre-token: merging must stay linear. Measured 0.48 s here (release, x86-64; 0.06 s
  // for 128 KB, doubling with the size), 1.7 s while the machine was busy; a quadratic merge
  // would take minutes. Sanitizer builds run several times slower.
  const std::string word(1 << 20, 'a');
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer->encode(word, false, false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("encoded a %zu-byte word in %.3f s\n", word.size(), seconds);
  EXPECT_LT(seconds, kSanitized ? 12.0 : 3.0);
  EXPECT_LT(ids.size(), word.size() / 4);
  EXPECT_EQ(tokenizer->decode(ids), word);
  EXPECT_EQ(tokenizer->encode("<|im_start|>", false, true),
            std::vector<int32_t>{*tokenizer->find_token("<|im_start|>")});
  EXPECT_TRUE(tokenizer->is_eog(151645));
  EXPECT_TRUE(tokenizer->is_eog(151643));
  EXPECT_EQ(tokenizer->bos_id(), 151643);
  EXPECT_EQ(tokenizer->eos_id(), 151645);
}

}  // namespace
}  // namespace cmdai::tokenizer
