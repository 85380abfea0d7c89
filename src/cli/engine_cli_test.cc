// `cmdai logits` and `cmdai generate` run as a user would, against the stories260K goldens.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/testdata.h"
#include "cli/cli_test_runner.h"

namespace {

using CliRun = cmdai::cli::testing::CliResult;

// Runs the cmdai binary with `args` (already shell-quoted), capturing stdout, stderr and the exit
// code.
CliRun run_cmdai(const std::string& args) { return cmdai::cli::testing::run_cli_line(args); }

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class EngineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = cmdai::find_testdata_dir(CMDAI_SOURCE_DIR);
    if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
    dir_ = *dir;
    model_ = (dir_ / "stories260K.gguf").string();
  }
  std::filesystem::path dir_;
  std::string model_;
};

TEST_F(EngineCli, LogitsTopIdsMatchTheGoldenAtEveryPosition) {
  const auto golden = read_json(dir_ / "golden" / "stories260K.once-bos.json");
  const std::string last_out = ::testing::TempDir() + "engine_cli_last.f32";
  const CliRun run = run_cmdai("logits --model '" + model_ +
                               "' --tokens 1,403,407,261,378 --threads 2 "
                               "--last-out '" +
                               last_out + "' --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto out = nlohmann::json::parse(run.out);
  EXPECT_EQ(out["n_vocab"], 512);
  ASSERT_EQ(out["positions"].size(), golden["top"].size());
  for (size_t pos = 0; pos < out["positions"].size(); ++pos) {
    const auto& ours = out["positions"][pos];
    EXPECT_EQ(ours["pos"], pos);
    ASSERT_EQ(ours["top"].size(), 20u);
    EXPECT_EQ(ours["top"][0]["id"], golden["top"][pos][0][0]) << "pos " << pos;
  }
  // The last position's top 20 are the golden's, in the same order.
  const auto& last = out["positions"].back()["top"];
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(last[i]["id"], golden["top"].back()[i][0]) << "rank " << i;
    EXPECT_NEAR(last[i]["logit"].template get<double>(),
                golden["top"].back()[i][1].template get<double>(), 0.06);
  }
  std::ifstream raw(last_out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.size(), 512u * sizeof(float));
}

TEST_F(EngineCli, GreedyGenerateIsDeterministicAndMatchesLlamaCpp) {
  const auto golden = read_json(dir_ / "golden" / "stories260K.once-bos.json");
  const std::string args =
      "generate --model '" + model_ + "' --prompt 'Once upon a time' -n 32 --threads 2 --json";
  const CliRun first = run_cmdai(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const CliRun second = run_cmdai(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto a = nlohmann::json::parse(first.out);
  const auto b = nlohmann::json::parse(second.out);
  EXPECT_EQ(a["prompt_tokens"], golden["tokens"]);  // BOS added by the SPM vocab
  EXPECT_EQ(a["tokens"], golden["greedy"]);
  EXPECT_EQ(a["tokens"], b["tokens"]);
  EXPECT_EQ(a["text"], b["text"]);
  EXPECT_EQ(a["text"].template get<std::string>().rfind(", there was a little girl", 0), 0u)
      << a["text"];
  for (const char* key :
       {"load_ms", "prefill_ms", "decode_ms", "prefill_tokens_per_s", "decode_tokens_per_s"}) {
    EXPECT_TRUE(a["timings"].contains(key)) << key;
  }
}

TEST_F(EngineCli, ErrorsAreOneLineOnStderrWithNothingOnStdout) {
  const CliRun missing = run_cmdai("logits --model /nonexistent/model.gguf --tokens 1 --json");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(missing.out.empty()) << missing.out;
  EXPECT_EQ(missing.err.rfind("cmdai: error: ", 0), 0u) << missing.err;

  const CliRun bad_tokens = run_cmdai("logits --model '" + model_ + "' --tokens 1,x --json");
  EXPECT_EQ(bad_tokens.exit_code, 2);  // usage
  EXPECT_TRUE(bad_tokens.out.empty());
  EXPECT_NE(bad_tokens.err.find("--tokens"), std::string::npos) << bad_tokens.err;

  const CliRun out_of_vocab = run_cmdai("generate --model '" + model_ + "' --tokens 1,9999 --json");
  EXPECT_EQ(out_of_vocab.exit_code, 2);
  EXPECT_TRUE(out_of_vocab.out.empty());
  EXPECT_NE(out_of_vocab.err.find("9999"), std::string::npos) << out_of_vocab.err;
}

}  // namespace
