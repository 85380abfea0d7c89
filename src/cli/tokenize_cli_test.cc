// Runs the built `cmdai tokenize` on the shared Qwen2.5 vocab and on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/testdata.h"
#include "cli/cli_test_runner.h"
#include "tokenizer/testing_vocab_spec.h"

namespace cmdai {
namespace {

using RunResult = cli::testing::CliResult;
using cli::testing::shell_quote;
std::string read_all(const std::filesystem::path& path) { return cli::testing::slurp(path); }
std::string quoted(const std::string& s) { return shell_quote(s); }

std::filesystem::path temp_path(const std::string& suffix) {
  return std::filesystem::temp_directory_path() /
         ("cmdai-tokenize-" + std::to_string(::getpid()) + suffix);
}

RunResult run_cmdai(const std::string& args) { return cli::testing::run_cli_line(args); }

std::optional<std::string> testdata(const std::string& name) {
  return tokenizer::testing::testdata_file(name);
}

TEST(TokenizeCli, JsonHasTheGoldenIdsOfAChatmlPromptReadFromAFile) {
  const auto vocab = testdata("ggml-vocab-qwen2.5-coder.gguf");
  const auto golden = testdata("golden/tiny-qwen2-q8_0.chatml-list.json");
  if (!vocab || !golden) GTEST_SKIP() << "shared testdata not found: qwen2.5 vocab or golden";
  const nlohmann::json expected = nlohmann::json::parse(read_all(*golden));
  const auto prompt_path = temp_path(".prompt");
  std::ofstream(prompt_path, std::ios::binary) << expected.at("prompt").get<std::string>();
  const RunResult r = run_cmdai("tokenize --model " + quoted(*vocab) + " --file " +
                                quoted(prompt_path.string()) + " --parse-special --json");
  std::filesystem::remove(prompt_path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("tokens"), expected.at("tokenize").at("ids"));
  EXPECT_EQ(out.at("pieces").size(), out.at("tokens").size());
  EXPECT_EQ(out.at("pieces").at(0), "<|im_start|>");
}

TEST(TokenizeCli, WithoutParseSpecialControlTextIsPlainText) {
  const auto vocab = testdata("ggml-vocab-qwen2.5-coder.gguf");
  if (!vocab) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  const RunResult r = run_cmdai("tokenize --model " + quoted(*vocab) + " --json '<|im_end|>'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<int32_t> ids = nlohmann::json::parse(r.out).at("tokens");
  EXPECT_GT(ids.size(), 1u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 0);
}

TEST(TokenizeCli, AddSpecialPutsBosBeforeStoriesText) {
  const auto model = testdata("stories260K.gguf");
  if (!model) GTEST_SKIP() << "shared testdata not found: stories260K.gguf";
  const RunResult r =
      run_cmdai("tokenize --model " + quoted(*model) + " --add-special --json 'Once upon a time'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("tokens"), nlohmann::json({1, 403, 407, 261, 378}));
}

struct CliFailure {
  std::string name;
  std::string args;  // after "tokenize"; MODEL / CORRUPT stand for the files
  int exit_code;
};

void PrintTo(const CliFailure& failure, std::ostream* os) { *os << failure.name; }

class TokenizeCliFails : public ::testing::TestWithParam<CliFailure> {};

TEST_P(TokenizeCliFails, WithOneErrorLineAndNothingOnStdout) {
  const auto vocab = testdata("ggml-vocab-qwen2.5-coder.gguf");
  if (!vocab) GTEST_SKIP() << "shared testdata not found: ggml-vocab-qwen2.5-coder.gguf";
  tokenizer::testing::VocabSpec broken = tokenizer::testing::small_bpe_spec();
  broken.merges->push_back("o o");  // "oo" is not a token
  const std::vector<uint8_t> bytes = broken.bytes();
  const auto corrupt_path = temp_path(".corrupt.gguf");
  std::ofstream(corrupt_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));

  std::string args = GetParam().args;
  for (const auto& [name, path] :
       {std::pair<std::string, std::string>{"MODEL", *vocab}, {"CORRUPT", corrupt_path.string()}}) {
    if (const size_t at = args.find(name); at != std::string::npos) {
      args.replace(at, name.size(), quoted(path));
    }
  }
  const RunResult r = run_cmdai("tokenize " + args);
  std::filesystem::remove(corrupt_path);
  EXPECT_EQ(r.exit_code, GetParam().exit_code) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("cmdai: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TokenizeCliFails,
    ::testing::Values(CliFailure{"MissingModelFile", "--model /nonexistent/model.gguf hi", 10},
                      CliFailure{"CorruptVocab", "--model CORRUPT hi", 7},
                      CliFailure{"NoText", "--model MODEL", 2},
                      CliFailure{"TextAndFile", "--model MODEL hi --file /etc/hostname", 2},
                      CliFailure{"UnreadableFile", "--model MODEL --file /nonexistent/x", 10}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace cmdai
