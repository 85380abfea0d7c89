// Issue 15, defect 11: the first use of a catalog model downloaded 1.1 GB without asking, and
// `cmdai help` was taken as a request (and so downloaded it too). The proxy variables point at a
// local server that records every request, so a test sees whether cmdai tried to download.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "catalog/test_http_server.h"
#include "cli/cli_test_runner.h"

namespace cmdai::cli {
namespace {

using catalog::testing::HttpRequest;
using catalog::testing::RawHttpServer;
using testing::CliResult;
using testing::run_cli;
namespace fs = std::filesystem;

class FirstUseCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_first_use_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
    fs::create_directories(dir_ / "config");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The proxy refuses every tunnel, so a download that starts fails at once (and is counted).
  std::map<std::string, std::string> env() const {
    const std::string proxy = proxy_.url("");
    return {{"CMDAI_CACHE_DIR", (dir_ / "cache").string()},
            {"CMDAI_CONFIG_DIR", (dir_ / "config").string()},
            {"SHELL", "/bin/bash"},
            {"https_proxy", proxy},
            {"http_proxy", proxy},
            {"no_proxy", ""},
            {"NO_PROXY", ""}};
  }

  // Runs cmdai on a terminal (script(1)) that types `answer` a second after the start; returns
  // cmdai's exit code and what the terminal showed in `*shown`.
  int run_on_terminal(const std::string& args, const std::string& answer, std::string* shown) {
    std::string assignments;
    for (const auto& [k, v] : env()) assignments += " " + testing::shell_quote(k + "=" + v);
    const std::string inner = "env NO_COLOR=1" + assignments + " " +
                              testing::shell_quote(testing::cmdai_binary()) + " " + args;
    const fs::path typescript = dir_ / "typescript";
    const std::string command = "(sleep 1; printf '" + answer + "\\n') | script -qec " +
                                testing::shell_quote(inner) + " /dev/null > " +
                                testing::shell_quote(typescript.string()) + " 2>&1";
    const int status = std::system(command.c_str());
    *shown = testing::slurp(typescript);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool tried_to_download() const { return !proxy_.requests().empty(); }
  fs::path models_dir() const { return dir_ / "cache" / "models"; }

  RawHttpServer proxy_{
      [](const HttpRequest&) { return catalog::testing::http_response(403, "no tunnels here"); }};
  fs::path dir_;
};

bool have_script() { return std::system("command -v script > /dev/null 2>&1") == 0; }

TEST_F(FirstUseCli, WithoutATerminalNothingIsDownloadedAndTheErrorSaysHowToGetTheModel) {
  const CliResult r = run_cli({"list", "files"}, env());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(tried_to_download());
  EXPECT_NE(r.err.find("cmdai model pull qwen2.5-coder-1.5b-q4_k_m"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1.1 GB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(models_dir().string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(models_dir() / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.part"));
}

TEST_F(FirstUseCli, OnATerminalItAsksWithTheSizeAndFolderAndNoMeansNoDownload) {
  if (!have_script()) GTEST_SKIP() << "no script(1) here";
  std::string shown;
  EXPECT_EQ(run_on_terminal("list files", "n", &shown), 4) << shown;
  EXPECT_FALSE(tried_to_download()) << shown;
  EXPECT_NE(shown.find("Download qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (about 1.1 GB"),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find(models_dir().string()), std::string::npos) << shown;
  EXPECT_NE(shown.find("cmdai model pull qwen2.5-coder-1.5b-q4_k_m"), std::string::npos) << shown;
}

TEST_F(FirstUseCli, OnATerminalYesDownloads) {
  if (!have_script()) GTEST_SKIP() << "no script(1) here";
  std::string shown;
  run_on_terminal("--model qwen2.5-coder-0.5b-q4_k_m list files", "y", &shown);
  ASSERT_TRUE(tried_to_download()) << shown;
  EXPECT_EQ(proxy_.requests()[0].path, "huggingface.co:443") << shown;
}

TEST_F(FirstUseCli, HelpShowsTheHelpInsteadOfAskingTheModel) {
  const CliResult r = run_cli({"help"}, env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Usage: cmdai"), std::string::npos) << r.out;
  EXPECT_FALSE(tried_to_download());
}

TEST_F(FirstUseCli, HelpFollowedByOtherWordsIsStillARequest) {
  const CliResult r = run_cli({"help", "me", "find", "big", "files"}, env());
  EXPECT_EQ(r.exit_code, 5) << "a request that needs the model: " << r.err;
  EXPECT_EQ(r.out.find("Usage: cmdai"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cmdai::cli
