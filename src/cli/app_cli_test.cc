// Golden-output tests of what the whole cmdai application does before and around its commands:
// parse errors, `--version`, `doctor`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_test_runner.h"

namespace cmdai::cli {
namespace {

using testing::CliResult;
using testing::run_cli;
namespace fs = std::filesystem;

class AppCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_app_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
    fs::create_directories(dir_ / "config");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::map<std::string, std::string> env() const {
    return {{"CMDAI_CACHE_DIR", (dir_ / "cache").string()},
            {"CMDAI_CONFIG_DIR", (dir_ / "config").string()},
            {"CMDAI_TEST_CANNED_COMMAND", "ls"}};
  }
  fs::path dir_;
};

// Issue 15 defect 12: CLI11's own parse errors were two lines in its format ("The following
// argument was not expected: --bogus" / "Run with --help for more information.").
TEST_F(AppCli, EveryParseErrorIsOneLineInCmdaisFormat) {
  const std::vector<std::vector<std::string>> cases = {
      {"--bogus", "list files"},
      {"--max-tokens", "many", "list files"},
      {"--timeout", "soon", "x"},
      {"model", "inspect"},
      {"init"},
      {"tokenize"},
      {"check", "--nope", "ls"},
  };
  for (const auto& args : cases) {
    const CliResult r = run_cli(args, env());
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_EQ(r.err.rfind("cmdai: error: ", 0), 0u) << args[0] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << args[0] << ": " << r.err;
  }
  EXPECT_NE(run_cli({"model", "inspect"}, env()).err.find("cmdai model inspect --help"),
            std::string::npos);
}

}  // namespace
}  // namespace cmdai::cli
