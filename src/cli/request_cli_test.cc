// Golden-output tests of `cmdai <request>`: stdout, stderr and exit code, with the canned generator
// (CMDAI_TEST_CANNED_COMMAND) for exact commands and a synthetic model for the whole engine path.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/testdata.h"
#include "base/utf8.h"
#include "cli/cli_test_runner.h"
#include "device/device.h"

namespace cmdai::cli {
namespace {

using testing::CliResult;
using testing::run_cli;
namespace fs = std::filesystem;

class RequestCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_request_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
    fs::create_directories(dir_ / "config");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An isolated cache/config, the shell fixed to bash, and no way out to the network.
  std::map<std::string, std::string> env(const std::string& canned = "") const {
    std::map<std::string, std::string> e = {{"CMDAI_CACHE_DIR", (dir_ / "cache").string()},
                                            {"CMDAI_CONFIG_DIR", (dir_ / "config").string()},
                                            {"SHELL", "/bin/bash"},
                                            {"https_proxy", "http://127.0.0.1:9"},
                                            {"http_proxy", "http://127.0.0.1:9"}};
    if (!canned.empty()) e["CMDAI_TEST_CANNED_COMMAND"] = canned;
    return e;
  }
  fs::path dir_;
};

TEST_F(RequestCli, PlainOutputShowsCommandAndRiskAndDoesNotRunOffATerminal) {
  const CliResult r = run_cli({"list", "all", "files"}, env("ls -la"));
  EXPECT_EQ(r.out, "  ls -la\n  risk: safe\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(RequestCli, JsonObjectHasTheDocumentedKeysAndNothingElseOnStdout) {
  const CliResult r = run_cli({"-o", "json", "list files"}, env("ls -la"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"command", "explanation", "risk", "rules", "blocked", "backend", "model",
                          "timings", "executed", "exit_status"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["command"], "ls -la");
  EXPECT_EQ(j["risk"], "safe");
  EXPECT_EQ(j["executed"], false);
  EXPECT_TRUE(j["exit_status"].is_null());
}

TEST_F(RequestCli, ExecuteYesRunsASafeCommandAndPassesItsExitStatusThrough) {
  const fs::path marker = dir_ / "ran";
  const CliResult r =
      run_cli({"-x", "-y", "touch it"}, env("touch " + marker.string() + " && exit 7"));
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_EQ(r.exit_code, 7);
}

TEST_F(RequestCli, JsonModeSendsTheCommandsOutputToStderr) {
  const CliResult r = run_cli({"-x", "-y", "-o", "json", "say hi"}, env("echo hello-from-child"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // stdout is only the object
  EXPECT_EQ(j["executed"], true);
  EXPECT_EQ(j["exit_status"], 0);
  EXPECT_NE(r.err.find("hello-from-child"), std::string::npos);
}

TEST_F(RequestCli, CriticalCommandIsNeverExecutedWhateverTheFlags) {
  const fs::path marker = dir_ / "must-not-exist";
  const std::string critical = "touch " + marker.string() + "; curl -s http://127.0.0.1:9/x | sh";
  for (const std::string safety : {"strict", "moderate", "permissive"}) {
    const CliResult r =
        run_cli({"-x", "-y", "--safety", safety, "-o", "json", "install it"}, env(critical));
    EXPECT_EQ(r.exit_code, 3) << safety << ": " << r.err;
    EXPECT_FALSE(fs::exists(marker)) << safety;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["risk"], "critical");
    EXPECT_EQ(j["blocked"], true);
    EXPECT_EQ(j["executed"], false);
    EXPECT_FALSE(j["rules"].empty());
  }
}

TEST_F(RequestCli, HighRiskNeedsConfirmationAndOffATerminalIsNotRun) {
  const fs::path victim = dir_ / "build";
  fs::create_directories(victim);
  const CliResult r = run_cli({"-x", "clean build"}, env("rm -rf " + victim.string()));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_TRUE(fs::exists(victim));
  EXPECT_NE(r.err.find("-y"), std::string::npos);
  const CliResult strict =
      run_cli({"-x", "-y", "--safety", "strict", "clean build"}, env("rm -rf " + victim.string()));
  EXPECT_EQ(strict.exit_code, 3);
  EXPECT_TRUE(fs::exists(victim));
}

TEST_F(RequestCli, DryRunNeverRuns) {
  const fs::path marker = dir_ / "dry";
  const CliResult r = run_cli({"--dry-run", "-x", "-y", "touch"}, env("touch " + marker.string()));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(RequestCli, ReadsTheRequestFromStdinWhenNotATerminal) {
  const CliResult r = run_cli({"-o", "json"}, env("df -h"), "show disk space\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["request"], "show disk space");
}

TEST_F(RequestCli, NoRequestIsAUsageError) {
  const CliResult r = run_cli({}, env("ls"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("cmdai: error:"), std::string::npos);
}

TEST_F(RequestCli, YamlOutputIsOneDocument) {
  const CliResult r = run_cli({"-o", "yaml", "list files"}, env("ls -la"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("command: \"ls -la\"\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("executed: false\n"), std::string::npos);
  EXPECT_NE(r.out.find("timings:\n  device_open_ms: "), std::string::npos);
}

TEST_F(RequestCli, InvalidUtf8InTheRequestOrTheCommandNeverAbortsAndOutputStaysValid) {
  // Issue 15 defect 1: these ended in SIGABRT (exit 134) with no output.
  for (const char* output : {"json", "yaml"}) {
    const CliResult request = run_cli({"-o", output, "list caf\xE9 files"}, env("ls"));
    EXPECT_EQ(request.exit_code, 0) << output << ": " << request.err;
    EXPECT_TRUE(is_valid_utf8(request.out)) << request.out;
    EXPECT_NE(request.out.find("caf\xEF\xBF\xBD files"), std::string::npos) << request.out;
    const CliResult command = run_cli({"-o", output, "list files"}, env("ls caf\xE9"));
    EXPECT_EQ(command.exit_code, 0) << output << ": " << command.err;
    EXPECT_TRUE(is_valid_utf8(command.out)) << command.out;
  }
  const CliResult from_stdin = run_cli({"-o", "json"}, env("ls"), "list caf\xE9 files\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_TRUE(is_valid_utf8(from_stdin.out));
}

TEST_F(RequestCli, OutputThatCannotBeWrittenIsAnIoError) {
  // Issue 15 defect 6: a full or closed stdout exited 0.
  const CliResult full = testing::run_cli_line("-o json 'list files'", env("ls"), "", ">/dev/full");
  EXPECT_EQ(full.exit_code, 10) << full.err;
  EXPECT_NE(full.err.find("cannot write to standard output"), std::string::npos) << full.err;
  const CliResult closed = testing::run_cli_line("-o json 'list files'", env("ls"), "", ">&-");
  EXPECT_EQ(closed.exit_code, 10) << closed.err;
}

// Issue 15 defect 7: SIGTERM or SIGHUP to cmdai during -x left the command running. The command
// here is a stub that only sleeps in the background (its pid written first) and waits.
TEST_F(RequestCli, TerminatingCmdaiDuringACommandEndsTheWholeCommand) {
  for (int sig : {SIGTERM, SIGHUP}) {
    const fs::path pid_file = dir_ / ("sleeper" + std::to_string(sig));
    auto e = env("sleep 300 & echo $! > " + pid_file.string() + "; wait");
    std::vector<std::string> env_strings = {"NO_COLOR=1", "PATH=" + std::string(getenv("PATH"))};
    for (const auto& [k, v] : e) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& x : env_strings) envp.push_back(x.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {testing::cmdai_binary(), "-x", "-y", "wait a while"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t cmdai = fork();
    ASSERT_GE(cmdai, 0);
    if (cmdai == 0) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      execve(testing::cmdai_binary(), argv.data(), envp.data());
      _exit(127);
    }
    pid_t sleeper = 0;
    for (int i = 0; i < 200 && sleeper <= 0; ++i) {
      std::ifstream(pid_file) >> sleeper;
      if (sleeper <= 0) usleep(50'000);
    }
    ASSERT_GT(sleeper, 0) << "the command never started";
    ASSERT_EQ(kill(cmdai, sig), 0);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 200 && done == 0; ++i) {
      done = waitpid(cmdai, &status, WNOHANG);
      if (done == 0) usleep(50'000);
    }
    EXPECT_EQ(done, cmdai) << "cmdai did not end after signal " << sig;
    if (done == 0) {
      kill(cmdai, SIGKILL);
      waitpid(cmdai, &status, 0);
    }
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = kill(sleeper, 0) != 0 && errno == ESRCH;
      if (!gone) usleep(50'000);
    }
    EXPECT_TRUE(gone) << "signal " << sig << " left the command's child " << sleeper << " running";
    if (!gone) kill(sleeper, SIGKILL);
  }
}

// Issue 15 defect 8: an unknown model name exited 10 (or 5); it is a usage error everywhere.
TEST_F(RequestCli, AnUnknownModelNameIsAUsageError) {
  auto e = env();
  const CliResult r = run_cli({"--model", "no-such-model", "list files"}, e);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unknown model 'no-such-model'"), std::string::npos) << r.err;
}

// Issue 15 defect 8: "n" at the prompt exited 0 without -x (and 4 with it). The prompt needs a
// terminal: script(1) gives it one, and its -e passes cmdai's exit code through.
TEST_F(RequestCli, AnsweringNoAtThePromptIsDeclinedWithOrWithoutExecute) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) here";
  std::string assignments;
  for (const auto& [k, v] : env("ls")) assignments += " " + testing::shell_quote(k + "=" + v);
  for (const char* flags : {"", " -x"}) {
    const std::string inner = "env NO_COLOR=1" + assignments + " " +
                              testing::shell_quote(testing::cmdai_binary()) + flags + " list files";
    const std::string command = "(sleep 1; printf 'n\\n') | script -qec " +
                                testing::shell_quote(inner) + " /dev/null > /dev/null 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 4) << "flags:" << flags;
  }
}

// Issue 15 defect 12: -y without -x was silently ignored.
TEST_F(RequestCli, YesWithoutExecuteSaysItDoesNothing) {
  const CliResult r = run_cli({"-y", "list files"}, env("ls"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("-y only matters with -x"), std::string::npos) << r.err;
}

// Issue 15 defect 12: TERM=dumb still got colour. On a terminal (script(1)), TERM=xterm gets
// escape codes and TERM=dumb none.
TEST_F(RequestCli, ADumbTerminalGetsNoColour) {
  if (std::system("command -v script > /dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) here";
  std::string assignments;
  for (const auto& [k, v] : env("ls")) assignments += " " + testing::shell_quote(k + "=" + v);
  const fs::path out = dir_ / "typescript";
  for (const char* term : {"xterm", "dumb"}) {
    const std::string inner = "env -u NO_COLOR TERM=" + std::string(term) + assignments + " " +
                              testing::shell_quote(testing::cmdai_binary()) +
                              " --dry-run list files";
    const std::string command = "script -qec " + testing::shell_quote(inner) + " /dev/null > " +
                                testing::shell_quote(out.string()) + " 2>&1 < /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << term;
    const bool coloured = testing::slurp(out).find('\x1b') != std::string::npos;
    EXPECT_EQ(coloured, std::string(term) == "xterm") << term << ": " << testing::slurp(out);
  }
}

// Runs `cmdai <args>` (already shell syntax) on a terminal made by script(1), typing `typed` after
// a second; stdin of cmdai is `stdin_from` (a shell redirection or pipe source; empty = the
// terminal). Returns cmdai's exit status (script -e passes it through) and what the terminal
// showed.
struct TerminalRun {
  int exit_code = -1;
  std::string screen;
};
TerminalRun run_on_terminal(const std::map<std::string, std::string>& env, const std::string& args,
                            const std::string& typed, const std::string& pipe_in,
                            const fs::path& screen_file) {
  std::string assignments;
  for (const auto& [k, v] : env) assignments += " " + testing::shell_quote(k + "=" + v);
  std::string inner = "env NO_COLOR=1" + assignments + " " +
                      testing::shell_quote(testing::cmdai_binary()) + " " + args;
  if (!pipe_in.empty()) inner = "printf '%s\\n' " + testing::shell_quote(pipe_in) + " | " + inner;
  const std::string command = "(sleep 1; printf '" + typed + "') | script -qec " +
                              testing::shell_quote(inner) + " /dev/null > " +
                              testing::shell_quote(screen_file.string()) + " 2>&1";
  const int status = std::system(command.c_str());
  TerminalRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.screen = testing::slurp(screen_file);
  return run;
}

bool have_script() { return std::system("command -v script > /dev/null 2>&1") == 0; }

// Issue 15 defect 12: `echo req | cmdai -x` on a terminal refused ("confirmation needs a
// terminal") because stdin was not one; it asks on the terminal (/dev/tty) instead.
TEST_F(RequestCli, ARequestFromAPipeIsConfirmedOnTheTerminal) {
  if (!have_script()) GTEST_SKIP() << "no script(1) here";
  const fs::path marker = dir_ / "ran";
  const TerminalRun yes = run_on_terminal(env("touch " + marker.string()), "-x", "y\\n",
                                          "touch a file", dir_ / "screen");
  EXPECT_EQ(yes.exit_code, 0) << yes.screen;
  EXPECT_NE(yes.screen.find("Run it?"), std::string::npos) << yes.screen;
  EXPECT_TRUE(fs::exists(marker)) << yes.screen;
  fs::remove(marker);
  const TerminalRun no = run_on_terminal(env("touch " + marker.string()), "-x", "n\\n",
                                         "touch a file", dir_ / "screen");
  EXPECT_EQ(no.exit_code, 4) << no.screen;
  EXPECT_FALSE(fs::exists(marker));
}

// Issue 15 defect 9: --edit (the init wrapper's and Ctrl-X a's path) put a high-risk command on
// the prompt line without a word. It shows the command and its risk and asks first; a safe
// command is handed over as before. The Ctrl-X a binding's own call is reproduced: --edit --quiet,
// stdin from the terminal, stdout captured.
TEST_F(RequestCli, EditShowsAHighRiskCommandsRiskAndAsksBeforeHandingItOver) {
  if (!have_script()) GTEST_SKIP() << "no script(1) here";
  const std::string risky = "rm -rf " + (dir_ / "build").string();
  auto e = env(risky);
  const fs::path edit_file = dir_ / "edit";
  e["CMDAI_EDIT_FILE"] = edit_file.string();
  const TerminalRun no =
      run_on_terminal(e, "--edit --quiet -- clean build", "n\\n", "", dir_ / "screen");
  EXPECT_EQ(no.exit_code, 4) << no.screen;
  EXPECT_NE(no.screen.find(risky), std::string::npos) << no.screen;
  EXPECT_NE(no.screen.find("risk: high"), std::string::npos) << no.screen;
  EXPECT_NE(no.screen.find("[y/N]"), std::string::npos) << no.screen;
  EXPECT_EQ(testing::slurp(edit_file), "");
  const TerminalRun yes =
      run_on_terminal(e, "--edit --quiet -- clean build", "y\\n", "", dir_ / "screen");
  EXPECT_EQ(yes.exit_code, 0) << yes.screen;
  EXPECT_EQ(testing::slurp(edit_file), risky);
  // Off a terminal nobody can be asked: nothing is handed over.
  fs::remove(edit_file);
  const CliResult off = run_cli({"--edit", "--quiet", "clean build"}, e);
  EXPECT_EQ(off.exit_code, 4) << off.err;
  EXPECT_NE(off.err.find("risk: high"), std::string::npos) << off.err;
  EXPECT_FALSE(fs::exists(edit_file) && !testing::slurp(edit_file).empty());
  EXPECT_EQ(off.out, "");
}

// Issue 15: nothing showed that cmdai was working while the model loaded and answered. On a
// terminal a spinner runs on stderr and its line is erased before the command is printed; never
// with -q, TERM=dumb, or JSON going to a file, and never off a terminal.
TEST_F(RequestCli, ASpinnerRunsOnATerminalAndIsErasedBeforeTheCommand) {
  if (!have_script()) GTEST_SKIP() << "no script(1) here";
  auto e = env("ls -la");
  e["TERM"] = "xterm";
  const fs::path screen = dir_ / "screen";
  const std::string shown = run_on_terminal(e, "--dry-run list files", "", "", screen).screen;
  const size_t spinner = shown.find("cmdai: thinking...");
  const size_t erased = shown.find("\r\x1b[K");
  const size_t command = shown.find("ls -la");
  ASSERT_NE(spinner, std::string::npos) << shown;
  ASSERT_NE(erased, std::string::npos) << shown;
  EXPECT_LT(spinner, erased);
  EXPECT_LT(erased, command) << shown;

  const fs::path json = dir_ / "out.json";
  for (const std::string& args : {std::string("-q --dry-run list files"),
                                  "-o json list files > " + testing::shell_quote(json.string())}) {
    const std::string quiet = run_on_terminal(e, args, "", "", screen).screen;
    EXPECT_EQ(quiet.find("thinking"), std::string::npos) << args << ": " << quiet;
  }
  e["TERM"] = "dumb";
  const std::string dumb = run_on_terminal(e, "--dry-run list files", "", "", screen).screen;
  EXPECT_EQ(dumb.find("thinking"), std::string::npos) << dumb;
  EXPECT_EQ(run_cli({"list files"}, env("ls -la")).err, "");  // stderr is a file here
}

TEST_F(RequestCli, EditHandsTheCommandToTheShellIntegration) {
  auto e = env("grep -r TODO .");
  const CliResult printed = run_cli({"--edit", "find todos"}, e);
  EXPECT_EQ(printed.out, "grep -r TODO .\n");
  e["CMDAI_EDIT_FILE"] = (dir_ / "edit").string();
  const CliResult handed = run_cli({"--edit", "find todos"}, e);
  EXPECT_EQ(handed.out, "");
  EXPECT_EQ(testing::slurp(dir_ / "edit"), "grep -r TODO .");
  const CliResult blocked = run_cli({"--edit", "wipe"}, env("rm -rf /"));
  EXPECT_EQ(blocked.exit_code, 3);
  EXPECT_EQ(blocked.out, "");
}

TEST_F(RequestCli, MissingModelFileIsExitFiveWithOneLine) {
  const CliResult r = run_cli({"--model", "/nonexistent/m.gguf", "list files"}, env());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(RequestCli, OfflineDefaultModelNamesTheModelCachePathAndTheWayOut) {
  const CliResult r = run_cli({"list files"}, env());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("qwen2.5-coder-1.5b"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir_ / "cache").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
}

TEST_F(RequestCli, SyntheticModelRunsTheWholePathToAValidObject) {
  auto testdata = find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!testdata) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const fs::path model = dir_ / "synth.gguf";
  const CliResult synth =
      run_cli({"model", "synth", "--shape", "tiny", "--quant", "q8_0", "--vocab-from",
               (*testdata / "ggml-vocab-qwen2.5-coder.gguf").string(), "--out", model.string()},
              env());
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  for (int run = 0; run < 2; ++run) {  // the second run restores the system prompt's KV state
    const CliResult r = run_cli(
        {"--model", model.string(), "-o", "json", "--max-tokens", "24", "list files"}, env());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_FALSE(j["command"].get<std::string>().empty());
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["executed"], false);
    EXPECT_LE(j["timings"]["generated_tokens"].get<int>(), 24);
    if (run == 1) {
      EXPECT_GT(j["timings"]["cached_prompt_tokens"].get<int>(), 20);
    }
  }
}

// The MLX device end to end (the mlx preset; other builds skip): the request's JSON names it, and
// the second run restores the system prompt's KV snapshot through its write_rows.
TEST_F(RequestCli, MlxBackendRunsTheWholePathAndRestoresItsSnapshot) {
  const auto kinds = device::compiled_devices();
  if (std::find(kinds.begin(), kinds.end(), device::DeviceKind::kMlx) == kinds.end()) {
    GTEST_SKIP() << "this build has no MLX device (cmake --preset mlx)";
  }
  auto testdata = find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!testdata) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const fs::path model = dir_ / "synth.gguf";
  const CliResult synth =
      run_cli({"model", "synth", "--shape", "tiny", "--quant", "q4_k_m", "--vocab-from",
               (*testdata / "ggml-vocab-qwen2.5-coder.gguf").string(), "--out", model.string()},
              env());
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  std::string first_command;
  for (int run = 0; run < 2; ++run) {
    const CliResult r = run_cli({"--backend", "mlx", "--model", model.string(), "-o", "json",
                                 "--temperature", "0", "--max-tokens", "16", "list files"},
                                env());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["backend"], "mlx");
    EXPECT_FALSE(j["command"].get<std::string>().empty());
    if (run == 0) first_command = j["command"].get<std::string>();
    if (run == 1) {
      EXPECT_GT(j["timings"]["cached_prompt_tokens"].get<int>(), 20);
      EXPECT_EQ(j["command"].get<std::string>(), first_command) << "greedy, same model";
    }
  }
}

// Issue 15: the request timeout was fixed at 30 s. Each route sets it: a 1 ms limit ends the
// request with exit 9, and a higher layer's generous limit overrides a lower layer's 1 ms.
TEST_F(RequestCli, TimeoutComesFromTheFlagTheEnvironmentOrTheConfigFile) {
  auto testdata = find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!testdata) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const fs::path model = dir_ / "synth.gguf";
  ASSERT_EQ(
      run_cli({"model", "synth", "--shape", "tiny", "--quant", "q8_0", "--vocab-from",
               (*testdata / "ggml-vocab-qwen2.5-coder.gguf").string(), "--out", model.string()},
              env())
          .exit_code,
      0);
  auto request = [&](std::vector<std::string> flags, std::map<std::string, std::string> extra) {
    for (const char* word : {"--model", model.c_str(), "-q", "--max-tokens", "4", "list files"}) {
      flags.push_back(word);
    }
    auto e = env();
    for (const auto& [k, v] : extra) e[k] = v;
    return run_cli(flags, e);
  };
  const CliResult flag = request({"--timeout", "0.001"}, {});
  EXPECT_EQ(flag.exit_code, 9) << flag.err;
  EXPECT_NE(flag.err.find("cmdai: error: the model did not answer within the timeout of 0.001 s"),
            std::string::npos)
      << flag.err;
  EXPECT_EQ(request({}, {{"CMDAI_TIMEOUT", "0.001"}}).exit_code, 9);
  EXPECT_EQ(request({"--timeout", "600"}, {{"CMDAI_TIMEOUT", "0.001"}}).exit_code, 0);
  std::ofstream(dir_ / "config" / "config.toml") << "timeout = 0.001\n";
  EXPECT_EQ(request({}, {}).exit_code, 9);
  EXPECT_EQ(request({}, {{"CMDAI_TIMEOUT", "0"}}).exit_code, 0);  // 0 = no limit
  const CliResult shown = run_cli({"config", "show"}, env());
  EXPECT_NE(shown.out.find("timeout = 0.001  # file"), std::string::npos) << shown.out;
}

TEST_F(RequestCli, InitScriptsAreValidShell) {
  for (const std::string shell : {"bash"}) {
    const CliResult r = run_cli({"init", shell}, env());
    ASSERT_EQ(r.exit_code, 0);
    std::ofstream(dir_ / "init.sh") << r.out;
    EXPECT_EQ(std::system(("bash -n " + (dir_ / "init.sh").string()).c_str()), 0);
  }
  EXPECT_EQ(run_cli({"init", "tcsh"}, env()).exit_code, 2);
}

}  // namespace
}  // namespace cmdai::cli
