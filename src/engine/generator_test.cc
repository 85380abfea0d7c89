#include "engine/generator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/testdata.h"
#include "device/cpu/cpu_device.h"

namespace cmdai::engine {
namespace {

// stories260K (F32) with the golden greedy continuation of "Once upon a time" with BOS.
class GeneratorOnStories : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = find_testdata_dir(CMDAI_SOURCE_DIR);
    if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
    auto file = gguf::GgufFile::open((*dir / "stories260K.gguf").string());
    ASSERT_TRUE(file.ok()) << file.error().to_string();
    file_ = std::make_unique<gguf::GgufFile>(std::move(file).value());
    auto model = model::Model::load(*file_, *device_);
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    model_ = std::move(model).value();
    std::ifstream in(*dir / "golden" / "stories260K.once-bos.json");
    const auto golden = nlohmann::json::parse(in);
    prompt_ = golden["tokens"].get<std::vector<int32_t>>();
    greedy_ = golden["greedy"].get<std::vector<int32_t>>();
  }

  GenerateRequest greedy_request(int32_t max_tokens) const {
    GenerateRequest request;
    request.prompt = prompt_;
    request.max_tokens = max_tokens;
    return request;
  }

  std::unique_ptr<device::Device> device_ = cpu::make_cpu_device(2);
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<model::Model> model_;
  std::vector<int32_t> prompt_;
  std::vector<int32_t> greedy_;
};

TEST_F(GeneratorOnStories, GreedyMatchesLlamaCppForAllTokens) {
  Generator generator(*model_);
  auto result = generator.generate(greedy_request(32));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->tokens, greedy_);
  EXPECT_EQ(result->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(result->timings.prompt_tokens, 5);
  EXPECT_EQ(result->timings.generated_tokens, 32);
}

TEST_F(GeneratorOnStories, ReusesTheCachedPrefixAndGetsTheSameTokens) {
  Generator generator(*model_);
  ASSERT_TRUE(generator.generate(greedy_request(8)).ok());
  // Same prompt again: everything but the last prompt token comes from the cache.
  auto again = generator.generate(greedy_request(8));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->timings.cached_prompt_tokens, 4);
  EXPECT_EQ(again->tokens, std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 8));
  // A prompt that continues the previous generation reuses prompt + generated tokens.
  GenerateRequest longer = greedy_request(4);
  longer.prompt.insert(longer.prompt.end(), greedy_.begin(), greedy_.begin() + 6);
  auto continued = generator.generate(longer);
  ASSERT_TRUE(continued.ok());
  EXPECT_EQ(continued->timings.cached_prompt_tokens, 10);
  EXPECT_EQ(continued->tokens, std::vector<int32_t>(greedy_.begin() + 6, greedy_.begin() + 10));
}

TEST_F(GeneratorOnStories, SavedPrefixRestoresIntoAFreshGenerator) {
  Generator first(*model_);
  ASSERT_TRUE(first.generate(greedy_request(4)).ok());
  auto saved = first.save_prefix(4);
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  EXPECT_FALSE(first.save_prefix(1000).ok());

  Generator second(*model_);
  ASSERT_TRUE(second.restore_prefix(*saved).ok());
  EXPECT_EQ(second.cached_tokens(), std::vector<int32_t>(prompt_.begin(), prompt_.begin() + 4));
  auto result = second.generate(greedy_request(8));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->timings.cached_prompt_tokens, 4);
  EXPECT_EQ(result->tokens, std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 8));

  std::vector<uint8_t> damaged = *saved;
  damaged.resize(damaged.size() / 2);
  EXPECT_EQ(second.restore_prefix(damaged).error().code, ErrorCode::kCorruptFile);
}

TEST_F(GeneratorOnStories, StopsAtEndOfGenerationTokenWithoutEmittingIt) {
  Generator generator(*model_);
  GenerateRequest request = greedy_request(32);
  request.eog_ids = {greedy_[5]};
  auto result = generator.generate(request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->stop_reason, StopReason::kEndOfGeneration);
  EXPECT_EQ(result->tokens, std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 5));
}

TEST_F(GeneratorOnStories, StopSequenceCutsTheTextAndStreamedPiecesAddUpToIt) {
  Generator generator(*model_);
  GenerateRequest request = greedy_request(32);
  request.token_text = [](int32_t id) { return fmt::format("<{}>", id); };
  // Spans the end of token 3 and the start of token 4, so it is held back before it completes.
  request.stop = {fmt::format("{}><{}", greedy_[3], greedy_[4] / 100)};  // ids are 3 digits
  std::string streamed;
  request.on_token = [&](int32_t, std::string_view piece) {
    streamed.append(piece);
    return true;
  };
  auto result = generator.generate(request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(result->tokens.size(), 5u);
  std::string want;
  for (int i = 0; i < 3; ++i) want += fmt::format("<{}>", greedy_[i]);
  want.push_back('<');
  EXPECT_EQ(result->text, want);
  EXPECT_EQ(streamed, want);
}

TEST_F(GeneratorOnStories, CallbackReturningFalseStops) {
  Generator generator(*model_);
  GenerateRequest request = greedy_request(32);
  request.on_token = [](int32_t, std::string_view) { return false; };
  auto result = generator.generate(request);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->stop_reason, StopReason::kCallback);
  EXPECT_EQ(result->tokens.size(), 1u);
}

TEST_F(GeneratorOnStories, CancelAndDeadlineAreErrors) {
  Generator generator(*model_);
  GenerateRequest request = greedy_request(32);
  std::atomic<bool> cancel{false};
  request.cancel = &cancel;
  int seen = 0;
  request.on_token = [&](int32_t, std::string_view) {
    if (++seen == 3) cancel = true;
    return true;
  };
  auto cancelled = generator.generate(request);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(seen, 3);

  GenerateRequest late = greedy_request(32);
  late.deadline = Deadline::after_ms(-1);
  auto timed_out = generator.generate(late);
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, ErrorCode::kTimeout);
}

TEST_F(GeneratorOnStories, LongPromptsPrefillInSlicesWithTheSameResult) {
  GenerateRequest request = greedy_request(8);
  for (int i = 0; i < 300; ++i) request.prompt.push_back(greedy_[static_cast<size_t>(i % 32)]);
  model::Model& model = *model_;
  Generator generator(model);
  auto sliced = generator.generate(request);
  ASSERT_TRUE(sliced.ok()) << sliced.error().to_string();
  // The same prompt as one forward pass, then greedy decode by hand.
  auto cache = model.make_cache(static_cast<int64_t>(request.prompt.size()) + 8);
  ASSERT_TRUE(cache.ok());
  std::vector<float> logits(512);
  ASSERT_TRUE(
      model.forward(request.prompt, 0, **cache, model::LogitsRequest::kLastRow, logits.data())
          .ok());
  std::vector<int32_t> want;
  for (int step = 0; step < 8; ++step) {
    if (step > 0) {
      const int32_t previous = want.back();
      ASSERT_TRUE(model
                      .forward(std::span<const int32_t>(&previous, 1), (*cache)->n_filled(),
                               **cache, model::LogitsRequest::kLastRow, logits.data())
                      .ok());
    }
    want.push_back(argmax(logits));
  }
  EXPECT_EQ(sliced->tokens, want);
}

TEST_F(GeneratorOnStories, SeededSamplingIsReproducible) {
  GenerateRequest request = greedy_request(16);
  request.sampling.temperature = 0.9f;
  request.sampling.top_k = 40;
  request.sampling.top_p = 0.95f;
  request.sampling.seed = 7;
  Generator a(*model_);
  Generator b(*model_);
  auto first = a.generate(request);
  auto second = b.generate(request);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->tokens, second->tokens);
  EXPECT_EQ(first->tokens.size(), 16u);
}

TEST_F(GeneratorOnStories, RejectsAnEmptyPrompt) {
  Generator generator(*model_);
  GenerateRequest request = greedy_request(4);
  request.prompt.clear();
  auto result = generator.generate(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdai::engine
