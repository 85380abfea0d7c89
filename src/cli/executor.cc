#include "cli/executor.h"

#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

extern char** environ;

namespace cmdai::cli {
namespace {

bool on_path(const std::string& name, std::string& found) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string dirs = path;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    const std::string candidate = dirs.substr(start, colon - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      found = candidate;
      return true;
    }
    start = colon + 1;
  }
  return false;
}

}  // namespace

std::string shell_program(const std::string& shell_name) {
  if (const char* env = std::getenv("SHELL"); env != nullptr && *env != '\0') {
    if (shell_name.empty() || std::filesystem::path(env).filename() == shell_name) return env;
  }
  std::string found;
  if (!shell_name.empty() && on_path(shell_name, found)) return found;
  return "/bin/sh";
}

namespace {

// The running command's process group, for the forwarding handler (0 when none runs).
volatile sig_atomic_t g_child_group = 0;

// SIGTERM, SIGHUP, SIGINT or SIGQUIT sent to cmdai reach the whole command (its pipelines and
// children too), and cmdai goes on to wait for it, so nothing is left running behind it.
void forward_to_child(int sig) {
  if (g_child_group > 0) ::killpg(static_cast<pid_t>(g_child_group), sig);
}

}  // namespace

Result<int> run_in_shell(const std::string& command, const std::string& shell,
                         bool stdout_to_stderr) {
  // The command gets a process group of its own; on a terminal that group becomes the foreground,
  // as a shell's job does, so Ctrl-C and tty reads go to the command and not to cmdai.
  const bool on_terminal = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  std::vector<std::string> args = {shell, "-c", command};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  struct sigaction forward {
  }, ignore{}, old_term{}, old_hup{}, old_int{}, old_quit{}, old_ttou{};
  forward.sa_handler = forward_to_child;
  sigemptyset(&forward.sa_mask);
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGTTOU, &ignore, &old_ttou);  // handing the terminal back must not stop cmdai
  sigaction(SIGTERM, &forward, &old_term);
  sigaction(SIGHUP, &forward, &old_hup);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGQUIT, &forward, &old_quit);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (on_terminal) ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGTTOU}) sigaction(sig, &defaults, nullptr);
    if (stdout_to_stderr) ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::execve(shell.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  Result<int> result =
      make_error(ErrorCode::kIo, "cannot start '{}': {}", shell, std::strerror(errno));
  if (pid > 0) {
    ::setpgid(pid, pid);  // also here, so the group exists before any signal is forwarded
    g_child_group = pid;
    if (on_terminal) ::tcsetpgrp(STDIN_FILENO, pid);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    g_child_group = 0;
    if (on_terminal) ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    if (WIFEXITED(status)) {
      result = WEXITSTATUS(status) == 127 && ::access(shell.c_str(), X_OK) != 0
                   ? Result<int>(make_error(ErrorCode::kIo, "cannot start '{}'", shell))
                   : Result<int>(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      result = 128 + WTERMSIG(status);
    } else {
      result = 1;
    }
  }
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  sigaction(SIGTTOU, &old_ttou, nullptr);
  return result;
}

}  // namespace cmdai::cli
