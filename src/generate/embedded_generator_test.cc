#include "generate/embedded_generator.h"

#include <gtest/gtest.h>

#include <deque>

namespace cmdai {
namespace {

// A backend that replays scripted answers piece by piece and records what it was asked.
class ScriptedBackend : public InferenceBackend {
 public:
  explicit ScriptedBackend(std::deque<std::vector<std::string>> answers)
      : answers_(std::move(answers)) {}

  Result<std::string> infer(std::string_view prompt, const EmbeddedConfig& config) override {
    return infer_stream(prompt, config, [](std::string_view) { return true; });
  }
  Result<std::string> infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                   const PieceCallback& on_piece) override {
    prompts.emplace_back(prompt);
    configs.push_back(config);
    if (answers_.empty()) return make_error(ErrorCode::kInternal, "no scripted answer left");
    std::string text;
    for (const std::string& piece : answers_.front()) {
      text += piece;
      ++pieces_delivered;
      if (!on_piece(piece)) break;
    }
    answers_.pop_front();
    return text;
  }
  ModelVariant variant() const override { return ModelVariant::kCpu; }
  MemoryType memory_type() const override { return MemoryType::kHostMapped; }
  Status load() override {
    loaded = true;
    return ok_status();
  }
  Status unload() override {
    loaded = false;
    return ok_status();
  }
  bool is_loaded() const override { return loaded; }
  InferenceTimings last_timings() const override { return {}; }
  std::string model_name() const override { return "scripted"; }

  std::vector<std::string> prompts;
  std::vector<EmbeddedConfig> configs;
  int pieces_delivered = 0;
  bool loaded = false;

 private:
  std::deque<std::vector<std::string>> answers_;
};

GenerationRequest list_files(bool explain = false) {
  GenerationRequest r;
  r.text = "list files";
  r.shell = "bash";
  r.os = "Linux (GNU coreutils)";
  r.cwd = "/tmp";
  r.explain = explain;
  return r;
}

TEST(EmbeddedGenerator, StopsDecodingAtTheEndOfTheCommandLine) {
  auto backend = std::make_shared<ScriptedBackend>(
      std::deque<std::vector<std::string>>{{"ls", " -la", "\n", "# next", "never reached"}});
  EmbeddedGenerator generator(backend, SamplingSettings{});
  auto out = generator.generate(list_files());
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->command, "ls -la");
  EXPECT_EQ(backend->pieces_delivered, 3);
  EXPECT_TRUE(backend->loaded);
  const EmbeddedConfig& config = backend->configs[0];
  EXPECT_GT(config.shared_prefix_bytes, 0u);
  EXPECT_GT(config.cacheable_prefix_bytes, config.shared_prefix_bytes);
  EXPECT_EQ(config.answer_lines, 1);
}

// Issue 15 defect 13: with --explain the command came from another prompt (one whose examples
// carry explanations), so the same request gave another command than without --explain.
TEST(EmbeddedGenerator, ExplainingAsksForTheCommandExactlyAsWithoutExplain) {
  auto plain_backend =
      std::make_shared<ScriptedBackend>(std::deque<std::vector<std::string>>{{"ls -la\n"}});
  ASSERT_TRUE(EmbeddedGenerator(plain_backend, SamplingSettings{}).generate(list_files()).ok());

  auto backend = std::make_shared<ScriptedBackend>(std::deque<std::vector<std::string>>{
      {"ls -la\n", "# why: never read"}, {" long listing", " of every entry\n", "more"}});
  auto out = EmbeddedGenerator(backend, SamplingSettings{}).generate(list_files(/*explain=*/true));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_GE(backend->prompts.size(), 1u);
  EXPECT_EQ(backend->prompts[0], plain_backend->prompts[0]);
  EXPECT_EQ(backend->configs[0].answer_lines, plain_backend->configs[0].answer_lines);
  EXPECT_EQ(backend->configs[0].cacheable_prefix_bytes,
            plain_backend->configs[0].cacheable_prefix_bytes);
  EXPECT_EQ(out->command, "ls -la");
  ASSERT_EQ(backend->prompts.size(), 2u);
  // Then the chosen command is explained: the second prompt ends with it and the '# why:' marker.
  const std::string& explaining = backend->prompts[1];
  EXPECT_TRUE(explaining.ends_with("# list files\nls -la\n# why:")) << explaining;
  EXPECT_EQ(backend->configs[1].answer_lines, 1);
  EXPECT_EQ(out->explanation, "long listing of every entry");
}

TEST(EmbeddedGenerator, RetriesMalformedAnswerOnceWithTemperature) {
  auto backend = std::make_shared<ScriptedBackend>(
      std::deque<std::vector<std::string>>{{"# list files\n"}, {"ls\n"}});
  EmbeddedGenerator generator(backend, SamplingSettings{});
  auto out = generator.generate(list_files());
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->command, "ls");
  EXPECT_EQ(out->attempts, 2);
  ASSERT_EQ(backend->configs.size(), 2u);
  EXPECT_GT(backend->configs[1].sampling.temperature, 0.0f);
  EXPECT_NE(backend->configs[1].sampling.seed, backend->configs[0].sampling.seed);
}

TEST(EmbeddedGenerator, TwoMalformedAnswersAreAnError) {
  auto backend = std::make_shared<ScriptedBackend>(
      std::deque<std::vector<std::string>>{{"```bash\n"}, {"   \n"}});
  EmbeddedGenerator generator(backend, SamplingSettings{});
  auto out = generator.generate(list_files());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kGenerationFailed);
  EXPECT_NE(out.error().message.find("retry"), std::string::npos);
}

}  // namespace
}  // namespace cmdai
