// The fixture of the `cmdai serve` end-to-end tests: a tiny synthetic model (the shared Qwen
// vocabulary, random weights), a real server process on a free loopback port, and the pieces the
// tests share (an HTTP client, the server's log and resident memory, a port nobody listens on).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "base/testdata.h"
#include "cli/cli_test_runner.h"

namespace cmdai::cli::testing {

namespace fs = std::filesystem;

// A loopback port that was free a moment ago and that nothing listens on now.
inline int closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class ServeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto testdata = find_testdata_dir(CMDAI_SOURCE_DIR);
    if (!testdata) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
    dir_ = fs::temp_directory_path() / ("cmdai_serve_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cache");
    fs::create_directories(dir_ / "config");
    model_ = dir_ / "synth.gguf";
    const CliResult synth =
        run_cli({"model", "synth", "--shape", "tiny", "--quant", "q8_0", "--vocab-from",
                 (*testdata / "ggml-vocab-qwen2.5-coder.gguf").string(), "--out", model_.string()},
                env());
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
  }

  void TearDown() override {
    if (pid_ > 0) {
      EXPECT_EQ(stop_server(), 0) << log();
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::map<std::string, std::string> env() const {
    return {{"CMDAI_CACHE_DIR", (dir_ / "cache").string()},
            {"CMDAI_CONFIG_DIR", (dir_ / "config").string()},
            {"SHELL", "/bin/bash"},
            {"https_proxy", "http://127.0.0.1:9"},
            {"http_proxy", "http://127.0.0.1:9"}};
  }

  // Starts `cmdai serve` on a free port and waits for its "listening" line.
  void start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {cmdai_binary(), "serve", "--model",   model_.string(),
                                     "--port",       "0",     "--threads", "1",
                                     "--name",       "synth"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string err = (dir_ / "serve.err").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      for (const auto& [k, v] : env()) ::setenv(k.c_str(), v.c_str(), 1);
      std::freopen(err.c_str(), "w", stderr);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    for (int i = 0; i < 600 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::string text = log();
      const size_t at = text.find("on http://127.0.0.1:");
      if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + 20);
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "cmdai serve exited: " << text;
      }
    }
    ASSERT_GT(port_, 0) << log();
  }

  // The server's resident memory (VmRSS), in KiB; 0 when it cannot be read.
  int64_t server_rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
    }
    return 0;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // SIGTERM, then the exit status.
  int stop_server() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string log() const { return testing::slurp(dir_ / "serve.err"); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

  // Whether the server turns a one-token request away (429) within 4 s: every slot and queue
  // place is taken.
  bool server_full() const {
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto r = post("/v1/completions", R"({"prompt":"x","max_tokens":1})");
      if (r && r->status == 429) return true;
    }
    return false;
  }

  httplib::Result post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {}) const {
    return client().Post(path, headers, body, "application/json");
  }

  fs::path dir_, model_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace cmdai::cli::testing
