// Runs the built cmdai binary: `model list/pull/path/rm` and `config show/path`, with the cache
// and config directories pointed at a temporary folder and a tiny HTTP server on 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

namespace {

// Serves GET /model.gguf with a fixed body and 404 for anything else, one connection at a time.
// (The catalog's own tests use cpp-httplib; this one stays dependency-free.)
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::string body) : body_(std::move(body)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listen(listen_fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyHttpServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  void serve() {
    while (!stopping_) {
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = read(client, buffer, sizeof(buffer));
        if (got <= 0) break;
        request.append(buffer, static_cast<size_t>(got));
      }
      const bool found = request.rfind("GET /model.gguf ", 0) == 0;
      const std::string& body = found ? body_ : std::string();
      const std::string response = std::string(found ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                                   "\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\nConnection: close\r\n\r\n" + body;
      size_t sent = 0;
      while (sent < response.size()) {
        const ssize_t wrote = write(client, response.data() + sent, response.size() - sent);
        if (wrote <= 0) break;
        sent += static_cast<size_t>(wrote);
      }
      close(client);
    }
  }

  std::string body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class StoreCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cmdai-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs cmdai with a clean CMDAI_* environment pointing into dir_; `env` is prepended verbatim.
  RunResult run(const std::string& args, const std::string& env = "") {
    const std::string out_file = (dir_ / "stdout").string();
    const std::string err_file = (dir_ / "stderr").string();
    const std::string command =
        "env -u CMDAI_MODEL -u CMDAI_TEMPERATURE -u CMDAI_MAX_TOKENS CMDAI_CACHE_DIR='" +
        (dir_ / "cache").string() + "' CMDAI_CONFIG_DIR='" + (dir_ / "config").string() + "' " +
        env + " '" + CMDAI_BINARY + "' " + args + " >'" + out_file + "' 2>'" + err_file + "'";
    const int status = std::system(command.c_str());
    RunResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = slurp(out_file);
    result.err = slurp(err_file);
    return result;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  std::filesystem::path dir_;
};

TEST_F(StoreCliTest, ModelListJsonParsesAndContainsTheDefaultModel) {
  RunResult result = run("model list --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << result.out;
  EXPECT_EQ(json["default"], "qwen2.5-coder-1.5b-q4_k_m");
  EXPECT_EQ(json["models_dir"], (dir_ / "cache" / "models").string());
  bool found_default = false;
  for (const auto& model : json["models"]) {
    if (model["name"] == "qwen2.5-coder-1.5b-q4_k_m") {
      found_default = true;
      EXPECT_TRUE(model["default"].get<bool>());
      EXPECT_FALSE(model["cached"].get<bool>());
      EXPECT_GT(model["size_bytes"].get<uint64_t>(), 0u);
    }
  }
  EXPECT_TRUE(found_default) << result.out;
}

TEST_F(StoreCliTest, PullFromALoopbackUrlStoresTheFileAndItsHash) {
  const std::string body(100'000, 'q');
  TinyHttpServer server(body);
  RunResult pulled = run("model pull " + server.url("/model.gguf"));
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  const std::filesystem::path file = dir_ / "cache" / "models" / "model.gguf";
  EXPECT_EQ(slurp(file.string()), body);
  EXPECT_NE(pulled.out.find("not verified"), std::string::npos) << pulled.out;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cache" / "models" / "model.gguf.sha256"));

  RunResult listed = run("model list --json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto json = nlohmann::json::parse(listed.out);
  bool found = false;
  for (const auto& model : json["models"]) {
    if (model["name"] == "model.gguf") {
      found = true;
      EXPECT_TRUE(model["cached"].get<bool>());
      EXPECT_EQ(model["size_bytes"].get<uint64_t>(), body.size());
      EXPECT_EQ(model["sha256"].get<std::string>().size(), 64u);
    }
  }
  EXPECT_TRUE(found) << listed.out;

  RunResult removed = run("model rm model.gguf");
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(StoreCliTest, PullWithAWrongHashFailsWithNothingOnStdout) {
  TinyHttpServer server("some bytes");
  RunResult result = run("model pull " + server.url("/model.gguf") + " --sha256 " +
                         std::string(64, 'a'));
  EXPECT_EQ(result.exit_code, 7);  // kExitModelInvalid
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("cmdai: error: sha256 mismatch", 0), 0u) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache" / "models" / "model.gguf"));
}

TEST_F(StoreCliTest, PullOf404IsANetworkErrorExitCode) {
  TinyHttpServer server("unused");
  RunResult result = run("model pull " + server.url("/missing.gguf"));
  EXPECT_EQ(result.exit_code, 8);  // kExitNetwork
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("404"), std::string::npos) << result.err;
}

// Issue 15 defect 12: `cmdai model` and `cmdai config` alone printed nothing.
TEST_F(StoreCliTest, AGroupWithoutASubcommandShowsItsSubcommands) {
  RunResult model = run("model");
  EXPECT_EQ(model.exit_code, 0) << model.err;
  EXPECT_NE(model.out.find("pull"), std::string::npos) << model.out;
  EXPECT_NE(model.out.find("inspect"), std::string::npos) << model.out;
  RunResult config = run("config");
  EXPECT_EQ(config.exit_code, 0) << config.err;
  EXPECT_NE(config.out.find("show"), std::string::npos) << config.out;
}

TEST_F(StoreCliTest, ModelPathPointsIntoTheCache) {
  RunResult result = run("model path qwen2.5-coder-0.5b-q4_k_m");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            (dir_ / "cache" / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").string() + "\n");
  RunResult unknown = run("model path no-such-model");
  EXPECT_EQ(unknown.exit_code, 2) << "an unknown name is a usage error (issue 15, defect 8)";
  EXPECT_EQ(unknown.out, "");
}

TEST_F(StoreCliTest, ConfigShowJsonReflectsAnEnvironmentOverride) {
  RunResult result = run("config show --json", "CMDAI_MAX_TOKENS=77");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["values"]["max_tokens"]["value"], 77);
  EXPECT_EQ(json["values"]["max_tokens"]["source"], "env");
  EXPECT_EQ(json["values"]["temperature"]["value"], 0.0);
  EXPECT_EQ(json["values"]["temperature"]["source"], "default");
  EXPECT_EQ(json["file"], (dir_ / "config" / "config.toml").string());
  EXPECT_FALSE(json["file_loaded"].get<bool>());
}

TEST_F(StoreCliTest, ConfigShowReportsABadFileWithItsLine) {
  std::filesystem::create_directories(dir_ / "config");
  std::ofstream(dir_ / "config" / "config.toml") << "top_k = 5\nsafety = \"yolo\"\n";
  RunResult result = run("config show");
  EXPECT_EQ(result.exit_code, 2);  // kExitUsage: a bad value
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("config.toml, line 2"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("safety"), std::string::npos) << result.err;
}

TEST_F(StoreCliTest, ConfigPathHonoursCmdaiConfigDir) {
  RunResult result = run("config path");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, (dir_ / "config" / "config.toml").string() + "\n");
}

}  // namespace
