#include "tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "tokenizer/testing_vocab.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::tokenizer {
namespace {

TEST(ChatTemplate, RendersTheGoldenChatmlPrompt) {
  const std::vector<ChatMessage> messages = {{"system", "You are a shell command generator."},
                                             {"user", "list all files"}};
  const std::string expected =
      "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n"
      "<|im_start|>user\nlist all files<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(render_chatml(messages, true), expected);

  const std::optional<std::string> golden =
      testing::testdata_file("golden/tiny-qwen2-q8_0.chatml-list.json");
  if (!golden) GTEST_SKIP() << "shared testdata not found: golden/tiny-qwen2-q8_0.chatml-list.json";
  std::ifstream in(*golden);
  const std::string text(std::istreambuf_iterator<char>(in), {});
  const nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(render_chatml(messages, true), json.at("prompt").get<std::string>());
}

TEST(ChatTemplate, UsesQwensDefaultSystemPromptWhenNoneIsGiven) {
  const std::vector<ChatMessage> messages = {{"user", "hi"}};
  EXPECT_EQ(render_chatml(messages, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
}

TEST(ChatTemplate, DefaultSystemPromptIsTheOneInTheVocabTemplate) {
  const std::optional<std::string> path = testing::testdata_file("ggml-vocab-qwen2.5-coder.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  Result<gguf::GgufFile> file = gguf::GgufFile::open(*path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  Result<Tokenizer> tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().to_string();
  const std::string& chat_template = tokenizer->chat_template();
  EXPECT_NE(chat_template.find("'<|im_start|>system\\n" + std::string(kQwenDefaultSystemPrompt) +
                               "<|im_end|>\\n'"),
            std::string::npos);
  EXPECT_NE(chat_template.find("'<|im_start|>assistant\\n'"), std::string::npos);
}

TEST(ChatTemplate, RendersMultiTurnAndGroupsToolResponses) {
  const std::vector<ChatMessage> messages = {
      {"system", "S"}, {"user", "u1"},     {"assistant", "a1"},    {"tool", "t1"},
      {"tool", "t2"},  {"system", "late"}, {"narrator", "dropped"}};
  EXPECT_EQ(render_chatml(messages, true),
            "<|im_start|>system\nS<|im_end|>\n"
            "<|im_start|>user\nu1<|im_end|>\n"
            "<|im_start|>assistant\na1<|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nt1\n</tool_response>\n<tool_response>\nt2\n"
            "</tool_response><|im_end|>\n"
            "<|im_start|>system\nlate<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplate, EmptyConversationGetsTheDefaultSystemTurnOnly) {
  EXPECT_EQ(render_chatml({}, false),
            "<|im_start|>system\n" + std::string(kQwenDefaultSystemPrompt) + "<|im_end|>\n");
}

}  // namespace
}  // namespace cmdai::tokenizer
