// Golden-output tests of what the whole cmdai application does before and around its commands:
// parse errors, `--version`, `doctor`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

// Issue 15: --version said only "cmdai 0.1.0"; a bug report needs the build type, the devices
// compiled in and the instruction sets the kernels use here.
TEST_F(AppCli, VersionSaysTheBuildTypeDevicesAndInstructionSets) {
  const CliResult r = run_cli({"--version"}, env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(std::string("cmdai ") + CMDAI_VERSION + " (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(" build)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ndevices: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ninstruction sets: "), std::string::npos) << r.out;
  // The sets are the ones in use: masking them to scalar shows in the answer.
  auto scalar = env();
  scalar["CMDAI_CPU_FEATURES"] = "scalar";
  EXPECT_NE(run_cli({"--version"}, scalar).out.find("instruction sets: scalar"), std::string::npos);
}

// Issue 15 defect 12: doctor said the config file was there and "all good" when every request
// would fail on it. It names the file and the parse error, in plain and JSON output, and so does
// it for a bad CMDAI_* variable.
TEST_F(AppCli, DoctorReportsABrokenConfigWithTheFileAndTheError) {
  const fs::path file = dir_ / "config" / "config.toml";
  std::ofstream(file) << "max_tokens = 64\nsafety = \"lax\"\n";
  const CliResult plain = run_cli({"doctor"}, env());
  EXPECT_EQ(plain.exit_code, 0) << plain.err;  // doctor reports problems; it does not fail on them
  EXPECT_NE(plain.out.find("config       " + file.string() + ": broken"), std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("line 2: key 'safety' must be one of strict, moderate, permissive, got "
                           "'lax'"),
            std::string::npos)
      << plain.out;
  EXPECT_EQ(plain.out.find("all good"), std::string::npos) << plain.out;

  const CliResult json = run_cli({"doctor", "--json"}, env());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["config"]["path"], file.string());
  EXPECT_EQ(report["config"]["ok"], false);
  EXPECT_NE(report["config"]["error"].get<std::string>().find("line 2"), std::string::npos);
  EXPECT_EQ(report["ok"], false);
  bool named_in_fixes = false;
  for (const auto& fix : report["fixes"]) {
    named_in_fixes =
        named_in_fixes || fix.get<std::string>().find(file.string()) != std::string::npos;
  }
  EXPECT_TRUE(named_in_fixes) << report["fixes"].dump();

  fs::remove(file);
  auto bad_env = env();
  bad_env["CMDAI_TEMPERATURE"] = "hot";
  const CliResult from_env = run_cli({"doctor"}, bad_env);
  EXPECT_NE(from_env.out.find("environment variable CMDAI_TEMPERATURE"), std::string::npos)
      << from_env.out;
}

}  // namespace
}  // namespace cmdai::cli
