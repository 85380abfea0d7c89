// The tokenizer against reference data: llama.cpp's qwen2 vectors and the golden prompts.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/testing_vocab.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::tokenizer {
namespace {

constexpr std::string_view kQwenVocab = "ggml-vocab-qwen2.5-coder.gguf";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

// .inp: each text followed by the separator; .out: one line of " id id ..." per text.
std::vector<Vector> read_vectors(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = read_all(inp_path);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<Vector> vectors;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t end = inp.find(separator, pos);
    if (end == std::string::npos) break;
    vectors.push_back({inp.substr(pos, end - pos), {}});
    pos = end + separator.size();
  }
  std::istringstream out(read_all(out_path));
  std::string line;
  for (Vector& vector : vectors) {
    if (!std::getline(out, line)) break;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) vector.ids.push_back(id);
  }
  return vectors;
}

struct Loaded {
  std::optional<Tokenizer> tokenizer;
  std::string skip_reason;
};

Loaded load(std::string_view name) {
  const std::optional<std::string> path = testing::testdata_file(std::string(name));
  if (!path) return {std::nullopt, "shared testdata not found: " + std::string(name)};
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  if (!file.ok()) return {std::nullopt, file.error().to_string()};
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) return {std::nullopt, tokenizer.error().to_string()};
  return {std::move(tokenizer).value(), ""};
}

double thread_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += " " + std::to_string(id);
  return out;
}

TEST(TokenizerVectors, QwenVectorsFromLlamaCppAllMatch) {
  const std::optional<std::string> inp = testing::testdata_file(std::string(kQwenVocab) + ".inp");
  const std::optional<std::string> out = testing::testdata_file(std::string(kQwenVocab) + ".out");
  if (!inp || !out) GTEST_SKIP() << "shared testdata not found: qwen2.5 vocab vectors";
  Loaded loaded = load(kQwenVocab);
  ASSERT_TRUE(loaded.tokenizer) << loaded.skip_reason;
  const std::vector<Vector> vectors = read_vectors(*inp, *out);
  ASSERT_GE(vectors.size(), 40u);
  size_t passed = 0;
  for (const Vector& vector : vectors) {
    const std::vector<int32_t> ids = loaded.tokenizer->encode(vector.text, false, false);
    EXPECT_EQ(show(ids), show(vector.ids)) << "text: '" << vector.text << "'";
    if (ids == vector.ids) ++passed;
  }
  std::printf("[ qwen2 vectors ] %zu of %zu match\n", passed, vectors.size());
}

TEST(TokenizerVectors, QwenVectorsDecodeBackToTheirText) {
  const std::optional<std::string> inp = testing::testdata_file(std::string(kQwenVocab) + ".inp");
  const std::optional<std::string> out = testing::testdata_file(std::string(kQwenVocab) + ".out");
  if (!inp || !out) GTEST_SKIP() << "shared testdata not found: qwen2.5 vocab vectors";
  Loaded loaded = load(kQwenVocab);
  ASSERT_TRUE(loaded.tokenizer) << loaded.skip_reason;
  for (const Vector& vector : read_vectors(*inp, *out)) {
    EXPECT_EQ(loaded.tokenizer->decode(loaded.tokenizer->encode(vector.text, false, false)),
              vector.text);
  }
}

class GoldenTokenization : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTokenization, ReproducesLlamaCppIds) {
  const std::optional<std::string> golden_path = testing::testdata_file("golden/" + GetParam());
  if (!golden_path) GTEST_SKIP() << "shared testdata not found: golden/" << GetParam();
  const nlohmann::json golden = nlohmann::json::parse(read_all(*golden_path));
  Loaded loaded = load(golden.at("model").get<std::string>());
  ASSERT_TRUE(loaded.tokenizer) << loaded.skip_reason;
  const nlohmann::json& tokenize = golden.at("tokenize");
  const std::string prompt = golden.at("prompt").get<std::string>();
  const std::vector<int32_t> ids = loaded.tokenizer->encode(
      prompt, tokenize.at("add_special").get<bool>(), tokenize.at("parse_special").get<bool>());
  EXPECT_EQ(show(ids), show(tokenize.at("ids").get<std::vector<int32_t>>()));
  // The prompt's own control tokens must come back; an added BOS must not.
  const bool added_bos = tokenize.at("add_special").get<bool>();
  EXPECT_EQ(loaded.tokenizer->decode(ids, /*render_special=*/!added_bos), prompt);
}

INSTANTIATE_TEST_SUITE_P(GoldenFiles, GoldenTokenization,
                         ::testing::Values("tiny-qwen2-q8_0.chatml-list.json",
                                           "tiny-qwen2-q8_0.find-txt.json",
                                           "tiny-qwen2-q4_k_m.chatml-list.json",
                                           "tiny-qwen2-q4_k_m.find-txt.json",
                                           "stories260K.once.json", "stories260K.dog.json",
                                           "stories260K.once-bos.json", "stories260K.dog-bos.json"),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// Prints the load and encode times (the model load budget is 100 ms); asserts only correctness.
TEST(TokenizerVectors, ReportsQwenVocabLoadAndEncodeTime) {
  const std::optional<std::string> path = testing::testdata_file(std::string(kQwenVocab));
  if (!path) GTEST_SKIP() << "shared testdata not found: " << kQwenVocab;
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  const Clock::time_point open_start = Clock::now();
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  const double open_ms = ms_since(open_start);
  // The best of a few loads: the machine is shared, the slowest runs measure the neighbours.
  double load_ms = 1e9;
  double load_cpu_ms = 1e9;
  std::optional<Result<Tokenizer>> loaded;
  for (int i = 0; i < 5; ++i) {
    const double cpu_start = thread_cpu_ms();
    const Clock::time_point load_start = Clock::now();
    loaded.emplace(Tokenizer::from_gguf(*file));
    load_ms = std::min(load_ms, ms_since(load_start));
    load_cpu_ms = std::min(load_cpu_ms, thread_cpu_ms() - cpu_start);
  }
  Result<Tokenizer>& tokenizer = *loaded;
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();

  const std::string prompt =
      "<|im_start|>user\nfind all python files modified in the last 7 days and count their "
      "lines<|im_end|>\n<|im_start|>assistant\n";
  constexpr int kRepeats = 200;
  size_t n_tokens = 0;
  const Clock::time_point encode_start = Clock::now();
  for (int i = 0; i < kRepeats; ++i) n_tokens = tokenizer->encode(prompt, false, true).size();
  const double encode_ms = ms_since(encode_start) / kRepeats;
  std::printf(
      "[ qwen2 vocab ] gguf open %.2f ms, tokenizer load %.2f ms wall / %.2f ms CPU "
      "(best of 5) "
      "(%lld tokens, %zu merges); encode of a %zu-token prompt %.4f ms\n",
      open_ms, load_ms, load_cpu_ms, static_cast<long long>(tokenizer->vocab_size()),
      tokenizer->vocab().merges().size(), n_tokens, encode_ms);
  EXPECT_EQ(tokenizer->vocab().merges().size(), 151387u);
  EXPECT_EQ(tokenizer->vocab_size(), 151936);
}

}  // namespace
}  // namespace cmdai::tokenizer
