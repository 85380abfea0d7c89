#include "tokenizer/vocab.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>

#include "tokenizer/testing_vocab_spec.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::tokenizer {
namespace {

using testing::VocabSpec;

Result<Vocab> load_vocab(const VocabSpec& spec) {
  const std::vector<uint8_t> bytes = spec.bytes();
  Result<gguf::GgufFile> file = testing::parse_spec(bytes);
  if (!file.ok()) return file.take_error();
  return Vocab::from_gguf(*file);
}

TEST(Vocab, LoadsTokensTypesMergesAndSpecialIds) {
  Result<Vocab> vocab = load_vocab(testing::small_bpe_spec());
  ASSERT_TRUE(vocab.ok()) << vocab.error().to_string();
  EXPECT_EQ(vocab->model(), VocabModel::kBytePairEncoding);
  EXPECT_EQ(vocab->pre(), "qwen2");
  EXPECT_EQ(vocab->size(), 263);
  EXPECT_EQ(vocab->text(259), "hello");
  EXPECT_EQ(vocab->find("hell"), 258);
  EXPECT_EQ(vocab->find("nope"), std::nullopt);
  EXPECT_EQ(vocab->type(260), TokenType::kControl);
  ASSERT_EQ(vocab->merges().size(), 4u);
  const MergeRule& last = vocab->merges()[3];
  EXPECT_EQ(last.left, 258);
  EXPECT_EQ(last.right, 'o');
  EXPECT_EQ(last.merged, 259);
  EXPECT_EQ(vocab->bos_id(), 261);
  EXPECT_EQ(vocab->eos_id(), 260);
  EXPECT_EQ(vocab->padding_id(), -1);
  EXPECT_FALSE(vocab->add_bos());  // BPE default
}

TEST(Vocab, EndOfGenerationHoldsEosAndEndOfTurnControlTokens) {
  Result<Vocab> vocab = load_vocab(testing::small_bpe_spec());
  ASSERT_TRUE(vocab.ok()) << vocab.error().to_string();
  EXPECT_TRUE(vocab->is_eog(260));  // <|im_end|>, the eos
  EXPECT_TRUE(vocab->is_eog(261));  // <|endoftext|>
  EXPECT_FALSE(vocab->is_eog(259));
  EXPECT_FALSE(vocab->is_eog(-1));
}

TEST(Vocab, PaddingIdWrittenAsAllOnesMeansNone) {
  VocabSpec spec = testing::small_bpe_spec();
  spec.padding_id = 0xFFFFFFFFu;
  Result<Vocab> vocab = load_vocab(spec);
  ASSERT_TRUE(vocab.ok()) << vocab.error().to_string();
  EXPECT_EQ(vocab->padding_id(), -1);
}

TEST(Vocab, SentencePieceDefaultsToBosAndSpacePrefix) {
  Result<Vocab> vocab = load_vocab(testing::small_spm_spec());
  ASSERT_TRUE(vocab.ok()) << vocab.error().to_string();
  EXPECT_EQ(vocab->model(), VocabModel::kSentencePiece);
  EXPECT_TRUE(vocab->add_bos());
  EXPECT_TRUE(vocab->add_space_prefix());
  EXPECT_FLOAT_EQ(vocab->score(264), -1.5f);
}

struct BrokenVocab {
  std::string name;
  std::function<void(VocabSpec&)> breaks;
  ErrorCode code;
  std::string message_part;  // the key (or fact) the error must name
};

void PrintTo(const BrokenVocab& broken, std::ostream* os) { *os << broken.name; }

class VocabRejects : public ::testing::TestWithParam<BrokenVocab> {};

TEST_P(VocabRejects, WithAnErrorNamingTheProblem) {
  VocabSpec spec = testing::small_bpe_spec();
  GetParam().breaks(spec);
  Result<Vocab> vocab = load_vocab(spec);
  ASSERT_FALSE(vocab.ok());
  EXPECT_EQ(vocab.error().code, GetParam().code) << vocab.error().to_string();
  EXPECT_NE(vocab.error().message.find(GetParam().message_part), std::string::npos)
      << vocab.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VocabRejects,
    ::testing::Values(
        BrokenVocab{"MissingModel", [](VocabSpec& s) { s.model.reset(); }, ErrorCode::kCorruptFile,
                    "tokenizer.ggml.model"},
        BrokenVocab{"UnknownModel", [](VocabSpec& s) { s.model = "bert"; }, ErrorCode::kUnsupported,
                    "bert"},
        BrokenVocab{"MissingTokens", [](VocabSpec& s) { s.tokens.reset(); },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.tokens"},
        BrokenVocab{"EmptyTokens", [](VocabSpec& s) { s.tokens->clear(); }, ErrorCode::kCorruptFile,
                    "tokenizer.ggml.tokens"},
        BrokenVocab{"ShortTokenTypes", [](VocabSpec& s) { s.types->pop_back(); },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.token_type"},
        BrokenVocab{"UnknownTokenType", [](VocabSpec& s) { (*s.types)[5] = 9; },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.token_type"},
        BrokenVocab{"LongScores",
                    [](VocabSpec& s) { s.scores = std::vector<float>(s.tokens->size() + 1); },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.scores"},
        BrokenVocab{"MissingMerges", [](VocabSpec& s) { s.merges.reset(); },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.merges"},
        BrokenVocab{"MergeOfUnknownToken",
                    [](VocabSpec& s) { s.merges->push_back("zq\xC4\xA0 o"); },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.merges[4]"},
        BrokenVocab{"MergeWhoseResultIsNoToken", [](VocabSpec& s) { s.merges->push_back("o o"); },
                    ErrorCode::kCorruptFile, "'oo', which is not a token"},
        BrokenVocab{"MergeWithoutSpace", [](VocabSpec& s) { s.merges->push_back("hello"); },
                    ErrorCode::kCorruptFile, "no space"},
        BrokenVocab{"BosOutOfRange", [](VocabSpec& s) { s.bos_id = 263; }, ErrorCode::kCorruptFile,
                    "tokenizer.ggml.bos_token_id"},
        BrokenVocab{"EosOutOfRange", [](VocabSpec& s) { s.eos_id = 1000000; },
                    ErrorCode::kCorruptFile, "tokenizer.ggml.eos_token_id"}),
    [](const auto& info) { return info.param.name; });

// Enough merges that the loader splits them over two threads: token "p<k>", "q<k>" and their
// merge "p<k>q<k>" for every k, after the small spec's tokens.
VocabSpec many_merges_spec(int n) {
  VocabSpec spec = testing::small_bpe_spec();
  for (int k = 0; k < n; ++k) {
    for (const char* prefix : {"p", "q"}) spec.tokens->push_back(fmt::format("{}{}", prefix, k));
    spec.tokens->push_back(fmt::format("p{}q{}", k, k));
    spec.merges->push_back(fmt::format("p{} q{}", k, k));
  }
  spec.types->resize(spec.tokens->size(), 1);
  return spec;
}

TEST(Vocab, ResolvesEveryMergeOfALargeListInOrder) {
  const VocabSpec spec = many_merges_spec(20000);
  Result<Vocab> vocab = load_vocab(spec);
  ASSERT_TRUE(vocab.ok()) << vocab.error().to_string();
  ASSERT_EQ(vocab->merges().size(), spec.merges->size());
  for (size_t i = 4; i < spec.merges->size(); ++i) {
    const int32_t first = 263 + 3 * static_cast<int32_t>(i - 4);
    const MergeRule& m = vocab->merges()[i];
    ASSERT_EQ(m.left, first) << i;
    ASSERT_EQ(m.right, first + 1) << i;
    ASSERT_EQ(m.merged, first + 2) << i;
  }
}

TEST(Vocab, ReportsTheFirstBadMergeOfALargeList) {
  VocabSpec spec = many_merges_spec(20000);
  (*spec.merges)[15000] = "p1 zz";  // upper half
  Result<Vocab> upper = load_vocab(spec);
  ASSERT_FALSE(upper.ok());
  EXPECT_NE(upper.error().message.find("tokenizer.ggml.merges[15000]"), std::string::npos)
      << upper.error().message;
  EXPECT_NE(upper.error().message.find("'zz'"), std::string::npos) << upper.error().message;
  (*spec.merges)[9000] = "nospace";  // lower half: reported first
  Result<Vocab> both = load_vocab(spec);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("tokenizer.ggml.merges[9000]"), std::string::npos)
      << both.error().message;
}

Result<Vocab> load_vocab_with_index(const VocabSpec& spec, std::span<const uint8_t> index) {
  const std::vector<uint8_t> bytes = spec.bytes();
  Result<gguf::GgufFile> file = testing::parse_spec(bytes);
  if (!file.ok()) return file.take_error();
  return Vocab::from_gguf(*file, index);
}

void expect_same_tables(const Vocab& a, const Vocab& b) {
  ASSERT_EQ(a.size(), b.size());
  for (int32_t id = 0; id < a.size(); ++id) ASSERT_EQ(b.find(a.text(id)), a.find(a.text(id))) << id;
  EXPECT_EQ(b.find("not-a-token"), std::nullopt);
  ASSERT_EQ(a.merges().size(), b.merges().size());
  for (size_t i = 0; i < a.merges().size(); ++i) {
    ASSERT_EQ(a.merges()[i].left, b.merges()[i].left) << i;
    ASSERT_EQ(a.merges()[i].right, b.merges()[i].right) << i;
    ASSERT_EQ(a.merges()[i].merged, b.merges()[i].merged) << i;
  }
}

TEST(Vocab, IndexBytesRestoreTheSameTables) {
  const VocabSpec spec = many_merges_spec(3000);
  Result<Vocab> built = load_vocab(spec);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  EXPECT_FALSE(built->index_from_cache());
  const std::vector<uint8_t> index = built->index_bytes();
  Result<Vocab> cached = load_vocab_with_index(spec, index);
  ASSERT_TRUE(cached.ok()) << cached.error().to_string();
  EXPECT_TRUE(cached->index_from_cache());
  expect_same_tables(*built, *cached);
}

TEST(Vocab, DamagedOrForeignIndexBytesAreIgnored) {
  const VocabSpec spec = many_merges_spec(3000);
  Result<Vocab> built = load_vocab(spec);
  ASSERT_TRUE(built.ok());
  const std::vector<uint8_t> index = built->index_bytes();
  std::vector<std::vector<uint8_t>> bad;
  bad.push_back(std::vector<uint8_t>(index.begin(), index.end() - 1));  // truncated
  bad.push_back(index);
  bad.back()[index.size() / 2] ^= 0x10;  // a table byte: checksum
  bad.push_back(index);
  bad.back()[7] = '0';  // another format version
  Result<Vocab> other = load_vocab(testing::small_bpe_spec());
  ASSERT_TRUE(other.ok());
  bad.push_back(other->index_bytes());  // another vocab's tables
  for (size_t i = 0; i < bad.size(); ++i) {
    Result<Vocab> vocab = load_vocab_with_index(spec, bad[i]);
    ASSERT_TRUE(vocab.ok()) << i << ": " << vocab.error().to_string();
    EXPECT_FALSE(vocab->index_from_cache()) << "case " << i;
    expect_same_tables(*built, *vocab);  // built again, correctly
  }
}

TEST(TokenizerLoad, RejectsPreTokenizerItDoesNotImplement) {
  VocabSpec spec = testing::small_bpe_spec();
  spec.pre = "gpt2";
  const std::vector<uint8_t> bytes = spec.bytes();
  Result<gguf::GgufFile> file = testing::parse_spec(bytes);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(tokenizer.error().message.find("'gpt2'"), std::string::npos);
}

TEST(TokenizerLoad, RejectsByteLevelVocabWithoutEveryByteToken) {
  VocabSpec spec = testing::small_bpe_spec();
  (*spec.tokens)[0x7F] = "not-a-byte";
  const std::vector<uint8_t> bytes = spec.bytes();
  Result<gguf::GgufFile> file = testing::parse_spec(bytes);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_EQ(tokenizer.error().code, ErrorCode::kCorruptFile);
  EXPECT_NE(tokenizer.error().message.find("0x7F"), std::string::npos);
}

}  // namespace
}  // namespace cmdai::tokenizer
