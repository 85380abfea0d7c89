// Runs the built `cmdai model inspect` on the shared models and on a damaged copy.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/testdata.h"
#include "base/testdata_gtest.h"
#include "cli/cli_test_runner.h"

namespace cmdai {
namespace {

using RunResult = cli::testing::CliResult;
using cli::testing::shell_quote;
std::string quoted(const std::string& s) { return shell_quote(s); }

RunResult run_cmdai(const std::string& args) { return cli::testing::run_cli_line(args); }

// nullopt when the test-data folder is absent; a file missing from it fails the test
// (base/testdata_gtest.h).
std::optional<std::filesystem::path> model(const std::string& file) {
  return require_testdata_file(file);
}

TEST(ModelInspect, JsonDescribesTheTinyQwen2Model) {
  auto path = model("tiny-qwen2-q4_k_m.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto r = run_cmdai("model inspect --json " + quoted(path->string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto j = nlohmann::json::parse(r.out);  // exactly one object: parse rejects trailing text
  EXPECT_EQ(j["architecture"], "qwen2");
  EXPECT_EQ(j["n_layers"], 2);
  EXPECT_EQ(j["hidden_dim"], 256);
  EXPECT_EQ(j["n_heads"], 4);
  EXPECT_EQ(j["n_kv_heads"], 2);
  EXPECT_EQ(j["ffn_dim"], 512);
  EXPECT_EQ(j["vocab_size"], 151936);
  EXPECT_EQ(j["head_dim"], 64);
  EXPECT_EQ(j["context_length"], 2048);
  EXPECT_EQ(j["rope_freq_base"], 1000000.0);
  EXPECT_EQ(j["n_params"], 40077568);
  EXPECT_EQ(j["file_size_bytes"], std::filesystem::file_size(*path));
  EXPECT_EQ(j["gguf_version"], 3);
  EXPECT_EQ(j["tensor_types"], (nlohmann::json{{"q4_K", 12}, {"q6_K", 3}, {"f32", 11}}));
  EXPECT_EQ(j["n_tensors"], 26);
  EXPECT_EQ(j["tokenizer"], "gpt2");
  EXPECT_EQ(j["name"], "tiny-qwen2 (synthetic random weights, seed 1001)");
  EXPECT_FALSE(j.contains("tensors"));
}

TEST(ModelInspect, JsonDescribesStories260KWithDefaultsForMissingKeys) {
  auto path = model("stories260K.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto r = run_cmdai("model inspect --json " + quoted(path->string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["n_layers"], 5);
  EXPECT_EQ(j["hidden_dim"], 64);
  EXPECT_EQ(j["n_heads"], 8);
  EXPECT_EQ(j["n_kv_heads"], 4);
  EXPECT_EQ(j["ffn_dim"], 172);
  EXPECT_EQ(j["vocab_size"], 512);
  EXPECT_EQ(j["head_dim"], 8);
  EXPECT_TRUE(j["rope_freq_base"].is_null());  // the file has no llama.rope.freq_base
  EXPECT_EQ(j["tensor_types"], (nlohmann::json{{"f32", 48}}));
  EXPECT_EQ(j["n_tensors"], 48);
  EXPECT_EQ(j["tokenizer"], "llama");
}

TEST(ModelInspect, JsonWithTensorsListsEveryTensor) {
  auto path = model("stories260K.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto r = run_cmdai("model inspect --json --tensors " + quoted(path->string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tensors"].size(), 48u);
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["ne"], (nlohmann::json{64, 512}));
  EXPECT_EQ(j["tensors"][0]["size_bytes"], 131072);
  EXPECT_EQ(j["tensors"][0]["offset"], 14176);  // absolute: data section starts at 14176
}

TEST(ModelInspect, TextSummaryNamesTheShapeAndTensorTable) {
  auto path = model("tiny-qwen2-q4_k_m.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto r = run_cmdai("model inspect --tensors " + quoted(path->string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("architecture    qwen2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("heads           4 (2 kv heads, head_dim 64)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensors         26: f32 11, q4_K 12, q6_K 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blk.1.ffn_down.weight"), std::string::npos) << r.out;
}

void expect_one_line_error(const RunResult& r, const std::string& mentions) {
  EXPECT_GT(r.exit_code, 0);
  EXPECT_LT(r.exit_code, 100);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("cmdai: error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
}

TEST(ModelInspect, TruncatedModelIsOneErrorLineAndModelInvalidExitCode) {
  auto path = model("stories260K.gguf");
  if (!path) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const auto cut = std::filesystem::temp_directory_path() /
                   ("cmdai-inspect-cut-" + std::to_string(::getpid()) + ".gguf");
  std::filesystem::copy_file(*path, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, std::filesystem::file_size(*path) / 2);
  for (const char* flag : {"", "--json "}) {
    auto r = run_cmdai(std::string("model inspect ") + flag + quoted(cut.string()));
    expect_one_line_error(r, cut.string());
    EXPECT_EQ(r.exit_code, 7) << "kExitModelInvalid";
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  }
  std::filesystem::remove(cut);
}

TEST(ModelInspect, MissingFileIsOneErrorLineNamingIt) {
  const std::string missing = "/nonexistent-cmdai/model.gguf";
  auto r = run_cmdai("model inspect --json " + missing);
  expect_one_line_error(r, missing);
}

TEST(ModelInspect, ANonGgufFileIsRejected) {
  const auto junk = std::filesystem::temp_directory_path() /
                    ("cmdai-inspect-junk-" + std::to_string(::getpid()) + ".gguf");
  std::ofstream(junk) << "this is not a model\n";
  auto r = run_cmdai("model inspect " + quoted(junk.string()));
  expect_one_line_error(r, "not a GGUF");
  EXPECT_EQ(r.exit_code, 7);
  std::filesystem::remove(junk);
}

}  // namespace
}  // namespace cmdai
