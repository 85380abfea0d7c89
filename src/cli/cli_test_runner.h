// Test helper: runs the built cmdai binary with arguments, environment and stdin, and captures
// stdout, stderr and the exit code, for golden-output tests of the CLI.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cmdai_binary_for_tests.h"

namespace cmdai::cli::testing {

struct CliResult {
  std::string out;
  std::string err;
  int exit_code = -1;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs `cmdai <args_line>`, where args_line is already in shell syntax (quote parts with
// shell_quote); stdin comes from `input` and there is no terminal at all (no /dev/tty); NO_COLOR
// is set so output is plain.
// stdout_redirect (e.g. ">/dev/full" or ">&-") replaces the capture of stdout.
inline CliResult run_cli_line(const std::string& args_line,
                              const std::map<std::string, std::string>& env = {},
                              const std::string& input = "",
                              const std::string& stdout_redirect = "") {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("cmdai_cli_run_" + std::to_string(::getpid()) +
                                                    "_" + std::to_string(counter++));
  fs::create_directories(dir);
  std::ofstream(dir / "in") << input;
  // setsid: no controlling terminal either, so cmdai cannot ask on /dev/tty even when the tests
  // run from one.
  std::string command = "setsid -w env NO_COLOR=1";
  for (const auto& [k, v] : env) command += " " + shell_quote(k + "=" + v);
  command += " " + shell_quote(cmdai_binary()) + " " + args_line;
  command +=
      " <" + shell_quote((dir / "in").string()) + " " +
      (stdout_redirect.empty() ? ">" + shell_quote((dir / "out").string()) : stdout_redirect) +
      " 2>" + shell_quote((dir / "err").string());
  const int status = std::system(command.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  fs::remove_all(dir);
  return r;
}

// Runs `cmdai args...`, each argument passed as one word.
inline CliResult run_cli(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {},
                         const std::string& input = "") {
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + shell_quote(a);
  return run_cli_line(line, env, input);
}

}  // namespace cmdai::cli::testing
