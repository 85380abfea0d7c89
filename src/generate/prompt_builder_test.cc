#include "generate/prompt_builder.h"

#include <gtest/gtest.h>

#include "generate/response_parser.h"

namespace cmdai {
namespace {

GenerationRequest request(std::string text, std::string cwd = "/home/ada") {
  GenerationRequest r;
  r.text = std::move(text);
  r.shell = "bash";
  r.os = "Linux (GNU coreutils)";
  r.cwd = std::move(cwd);
  return r;
}

TEST(PromptBuilder, SystemTurnIsTheSameForEveryRequestAndDirectory) {
  const BuiltPrompt a = build_prompt(request("list files", "/tmp"));
  const BuiltPrompt b = build_prompt(request("find big pdfs", "/home/ada/Downloads"));
  ASSERT_EQ(a.cacheable_prefix_bytes, b.cacheable_prefix_bytes);
  EXPECT_EQ(a.text.substr(0, a.cacheable_prefix_bytes), b.text.substr(0, b.cacheable_prefix_bytes));
  EXPECT_NE(a.text, b.text);
}

TEST(PromptBuilder, StatesShellOsDirectoryAndEndsInsideTheAnswer) {
  const BuiltPrompt p = build_prompt(request("list files"));
  EXPECT_NE(p.text.find("bash"), std::string::npos);
  EXPECT_NE(p.text.find("GNU"), std::string::npos);
  EXPECT_NE(p.text.find("/home/ada"), std::string::npos);
  EXPECT_NE(p.text.find("<|im_start|>user\n"), std::string::npos);
  const std::string tail = "<|im_start|>assistant\n" + std::string(kAnswerPrefix);
  ASSERT_GE(p.text.size(), tail.size());
  EXPECT_EQ(p.text.substr(p.text.size() - tail.size()), tail);
  EXPECT_EQ(p.text.rfind("<|im_start|>system\n", 0), 0u);
}

TEST(PromptBuilder, ChangesWithTheShell) {
  GenerationRequest fish = request("list files");
  fish.shell = "fish";
  EXPECT_NE(build_prompt(fish).text.substr(0, 200), build_prompt(request("list files")).text.substr(0, 200));
}

}  // namespace
}  // namespace cmdai
