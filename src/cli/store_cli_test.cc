// Runs the built cmdai binary: `model list/pull/path/rm` and `config show/path`, with the cache
// and config directories pointed at a temporary folder and a tiny HTTP server on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "base/testdata.h"
#include "catalog/test_http_server.h"
#include "cli/cmdai_binary_for_tests.h"
#include "gguf/gguf_writer.h"

namespace {

using cmdai::catalog::testing::HttpRequest;
using cmdai::catalog::testing::RawHttpServer;

// Serves GET /model.gguf with `body` (honouring Range) and 404 for anything else.
class TinyHttpServer : public RawHttpServer {
 public:
  explicit TinyHttpServer(std::string body)
      : RawHttpServer([body = std::move(body)](const HttpRequest& request) {
          if (request.path != "/model.gguf") return cmdai::catalog::testing::http_response(404, "");
          return cmdai::catalog::testing::serve_with_ranges(body, request);
        }) {}
};

// A small valid GGUF file: one 256 KB tensor, so a cut anywhere past the header leaves the tensor
// outside the file.
std::string tiny_gguf(uint32_t seed = 1) {
  cmdai::gguf::GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  std::vector<uint8_t> data(65536 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * seed + seed);
  writer.add_tensor("t.a", cmdai::TensorType::kF32, {65536}, std::move(data));
  auto bytes = writer.to_bytes();
  return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : std::string();
}

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
        env + " '" + cmdai::cli::testing::cmdai_binary() + "' " + args + " >'" + out_file +
        "' 2>'" + err_file + "'";
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
  const std::string body = tiny_gguf();
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
  TinyHttpServer server(tiny_gguf());
  RunResult result =
      run("model pull " + server.url("/model.gguf") + " --sha256 " + std::string(64, 'a'));
  EXPECT_EQ(result.exit_code, 7);  // kExitModelInvalid
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("cmdai: error: sha256 mismatch", 0), 0u) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache" / "models" / "model.gguf"));
}

// ---- issue 15, defect 3: a pull installs only a complete GGUF model ----

std::filesystem::path pulled(const std::filesystem::path& dir) {
  return dir / "cache" / "models" / "model.gguf";
}

TEST_F(StoreCliTest, PullRefusesATruncatedModelWhateverContentLengthSays) {
  const std::string cut = tiny_gguf().substr(0, 100'000);
  for (bool content_length : {true, false}) {
    RawHttpServer server([&](const HttpRequest&) {
      return cmdai::catalog::testing::http_response(200, cut, {}, content_length);
    });
    RunResult result = run("model pull " + server.url("/model.gguf"));
    EXPECT_EQ(result.exit_code, 7) << "content_length " << content_length << ": " << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find("is truncated"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(pulled(dir_)));
    EXPECT_FALSE(std::filesystem::exists(pulled(dir_).string() + ".part"));
  }
}

TEST_F(StoreCliTest, PullRejectsAnHtmlPageAtOnce) {
  RawHttpServer server([](const HttpRequest&) {
    return cmdai::catalog::testing::http_response(
        200, "<!DOCTYPE html><html><body>Please sign in</body></html>" + std::string(200'000, ' '),
        {"Content-Type: text/html"});
  });
  RunResult result = run("model pull " + server.url("/model.gguf"));
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_NE(result.err.find("did not send a GGUF model"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("<!DOCTYPE html>"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(pulled(dir_)));
  EXPECT_FALSE(std::filesystem::exists(pulled(dir_).string() + ".part"));
}

TEST_F(StoreCliTest, PullStartsOverInsteadOfResumingAGarbagePart) {
  const std::string body = tiny_gguf();
  TinyHttpServer server(body);
  std::filesystem::create_directories(pulled(dir_).parent_path());
  std::ofstream(pulled(dir_).string() + ".part", std::ios::binary) << std::string(5000, 'z');
  RunResult result = run("model pull " + server.url("/model.gguf"));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(slurp(pulled(dir_).string()) == body) << "the garbage .part was resumed";
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].range, "");
}

TEST_F(StoreCliTest, ForcedPullKeepsTheOldFileUntilTheNewOneIsVerified) {
  const std::string good = tiny_gguf();
  TinyHttpServer server(good);
  ASSERT_EQ(run("model pull " + server.url("/model.gguf")).exit_code, 0);
  server.set_handler([cut = good.substr(0, 100'000)](const HttpRequest&) {
    return cmdai::catalog::testing::http_response(200, cut);
  });
  RunResult forced = run("model pull " + server.url("/model.gguf") + " --force");
  EXPECT_EQ(forced.exit_code, 7) << forced.err;
  EXPECT_TRUE(slurp(pulled(dir_).string()) == good) << "the old model was lost";
}

TEST_F(StoreCliTest, PullDoesNotAcceptABrokenFileAlreadyInPlace) {
  TinyHttpServer server(tiny_gguf());
  std::filesystem::create_directories(pulled(dir_).parent_path());
  std::ofstream(pulled(dir_), std::ios::binary) << tiny_gguf().substr(0, 100'000);
  RunResult result = run("model pull " + server.url("/model.gguf"));
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("--force"), std::string::npos) << result.err;
}

// ---- issue 15, defect 10: whatever `model list` shows, the other commands accept ----

TEST_F(StoreCliTest, APulledModelIsUsableByTheNameModelListShows) {
  auto testdata = cmdai::find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!testdata) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const std::filesystem::path synth = dir_ / "synth.gguf";
  RunResult made = run("model synth --shape tiny --quant q8_0 --vocab-from '" +
                       (*testdata / "ggml-vocab-qwen2.5-coder.gguf").string() + "' --out '" +
                       synth.string() + "'");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  TinyHttpServer server(slurp(synth.string()));
  ASSERT_EQ(run("model pull " + server.url("/model.gguf")).exit_code, 0);

  auto listed = nlohmann::json::parse(run("model list --json").out);
  std::string name;
  for (const auto& model : listed["models"]) {
    if (!model["catalog"].get<bool>()) name = model["name"];
  }
  ASSERT_EQ(name, "model.gguf") << listed.dump();
  RunResult path = run("model path " + name);
  EXPECT_EQ(path.exit_code, 0) << path.err;
  EXPECT_EQ(path.out, pulled(dir_).string() + "\n");
  RunResult inspect = run("model inspect --json " + name);
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  RunResult request = run("--model " + name + " --dry-run -o json --max-tokens 8 list files");
  EXPECT_EQ(request.exit_code, 0) << request.err;
}

TEST_F(StoreCliTest, ModelInspectTakesACatalogName) {
  RunResult missing = run("model inspect qwen2.5-coder-0.5b-q4_k_m");
  EXPECT_EQ(missing.exit_code, 5) << missing.err;
  EXPECT_NE(missing.err.find("cmdai model pull qwen2.5-coder-0.5b-q4_k_m"), std::string::npos)
      << missing.err;
  const std::filesystem::path cached =
      dir_ / "cache" / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
  std::filesystem::create_directories(cached.parent_path());
  std::ofstream(cached, std::ios::binary) << tiny_gguf();
  RunResult present = run("model inspect --json qwen2.5-coder-0.5b-q4_k_m");
  EXPECT_EQ(present.exit_code, 0) << present.err;
}

TEST_F(StoreCliTest, AUrlWithoutGgufInItsNameIsStoredAsAGgufFileThatModelListShows) {
  RawHttpServer server([body = tiny_gguf()](const HttpRequest&) {
    return cmdai::catalog::testing::http_response(200, body);
  });
  ASSERT_EQ(run("model pull " + server.url("/download/latest")).exit_code, 0);
  auto listed = nlohmann::json::parse(run("model list --json").out);
  bool found = false;
  for (const auto& model : listed["models"]) found = found || model["name"] == "latest.gguf";
  EXPECT_TRUE(found) << listed.dump();
  EXPECT_EQ(run("model path latest.gguf").exit_code, 0);
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
  EXPECT_EQ(
      result.out,
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
