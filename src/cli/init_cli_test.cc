// The shell integration (`cmdai init bash|zsh|fish`) in the real shells, run interactively on a
// terminal made by script(1). The command cmdai "generates" is a stub that only prints.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_test_runner.h"

namespace cmdai::cli {
namespace {

namespace fs = std::filesystem;
using testing::shell_quote;

class InitCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_init_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    for (const char* sub : {"bin", "cache", "config", "home", "xdg_config/fish", "xdg_data/fish"}) {
      fs::create_directories(dir_ / sub);
    }
    fs::create_symlink(testing::cmdai_binary(), dir_ / "bin" / "cmdai");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static bool have(const std::string& program) {
    return std::system(("command -v " + program + " > /dev/null 2>&1").c_str()) == 0;
  }

  // Starts `shell_command` on a terminal with the integration loaded by its startup file, types
  // each line of `typed` a second apart, then `exit`; returns what the terminal showed.
  std::string session(const std::string& shell_command, const std::vector<std::string>& typed) {
    std::string env =
        "env -i TERM=dumb PATH=" + shell_quote((dir_ / "bin").string() + ":" + std::getenv("PATH"));
    for (const auto& [k, v] :
         std::map<std::string, std::string>{{"HOME", (dir_ / "home").string()},
                                            {"ZDOTDIR", (dir_ / "home").string()},
                                            {"XDG_CONFIG_HOME", (dir_ / "xdg_config").string()},
                                            {"XDG_DATA_HOME", (dir_ / "xdg_data").string()},
                                            {"CMDAI_CACHE_DIR", (dir_ / "cache").string()},
                                            {"CMDAI_CONFIG_DIR", (dir_ / "config").string()},
                                            {"CMDAI_TEST_CANNED_COMMAND", "echo ran-by-cmdai"},
                                            {"SHELL", "/bin/sh"}}) {
      env += " " + shell_quote(k + "=" + v);
    }
    std::string keys = "sleep 2";
    for (const std::string& line : typed)
      keys += "; printf '%s\\r' " + shell_quote(line) + "; sleep 1";
    keys += "; printf 'exit\\r'; sleep 1";
    const fs::path screen = dir_ / "screen";
    const std::string command = "(" + keys + ") | script -qec " +
                                shell_quote(env + " " + shell_command) + " /dev/null > " +
                                shell_quote(screen.string()) + " 2>&1";
    std::system(command.c_str());
    return testing::slurp(screen);
  }

  // Where the shell writes its history listing, and what it wrote.
  std::string listing() const { return shell_quote((dir_ / "history").string()); }
  std::string history() const { return testing::slurp(dir_ / "history"); }

  fs::path dir_;
};

// Issue 15: a command cmdai ran (-x -y here) through the shell integration did not reach the
// shell's history, so Up did not bring it back. In each shell, the history listed into a file
// after it holds the command ("echo ran-by-cmdai"; the stub itself only prints "ran-by-cmdai").
TEST_F(InitCli, BashHistoryHoldsTheCommandCmdaiRan) {
  if (!have("script") || !have("bash")) GTEST_SKIP() << "needs script(1) and bash";
  std::ofstream(dir_ / "home" / ".bashrc")
      << "PS1='$ '; HISTFILE=/dev/null; eval \"$(cmdai init bash)\"\n";
  const std::string screen = session(
      "bash --noprofile --rcfile " + shell_quote((dir_ / "home" / ".bashrc").string()) + " -i",
      {"cmdai -x -y say hi", "history 3 > " + listing()});
  EXPECT_NE(screen.find("ran-by-cmdai"), std::string::npos) << screen;
  EXPECT_NE(history().find("echo ran-by-cmdai"), std::string::npos) << history() << screen;
}

TEST_F(InitCli, ZshHistoryHoldsTheCommandCmdaiRan) {
  if (!have("script") || !have("zsh")) GTEST_SKIP() << "needs script(1) and zsh";
  std::ofstream(dir_ / "home" / ".zshrc") << "PS1='$ '; eval \"$(cmdai init zsh)\"\n";
  const std::string screen = session("zsh -i", {"cmdai -x -y say hi", "fc -ln -3 > " + listing()});
  EXPECT_NE(screen.find("ran-by-cmdai"), std::string::npos) << screen;
  EXPECT_NE(history().find("echo ran-by-cmdai"), std::string::npos) << history() << screen;
}

TEST_F(InitCli, FishHistoryHoldsTheCommandCmdaiRan) {
  if (!have("script") || !have("fish")) GTEST_SKIP() << "needs script(1) and fish";
  std::ofstream(dir_ / "xdg_config" / "fish" / "config.fish") << "cmdai init fish | source\n";
  const std::string screen =
      session("fish -i", {"cmdai -x -y say hi", "builtin history search --max 3 > " + listing()});
  EXPECT_NE(screen.find("ran-by-cmdai"), std::string::npos) << screen;
  EXPECT_NE(history().find("echo ran-by-cmdai"), std::string::npos) << history() << screen;
}

}  // namespace
}  // namespace cmdai::cli
