// remote.fallback end to end: a server that cannot be reached falls back to the embedded model,
// and a missing embedded model falls back to `cmdai serve`, each saying so in one stderr line;
// without the setting both stay clear errors.
#include <nlohmann/json.hpp>

#include "cli/serve_test_fixture.h"

namespace cmdai::cli {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::run_cli;

class RemoteFallbackCli : public testing::ServeCli {
 protected:
  // The environment with the embedded model set the way a user's config would set it.
  std::map<std::string, std::string> env_with_model() const {
    auto e = env();
    e["CMDAI_MODEL"] = model_.string();
    return e;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    lines.push_back(text.substr(at, end - at));
  }
  if (at < text.size()) lines.push_back(text.substr(at));
  return lines;
}

TEST_F(RemoteFallbackCli, UnreachableServerUsesTheEmbeddedModelOnlyWhenAsked) {
  const int port = testing::closed_loopback_port();
  ASSERT_GT(port, 0);
  const std::string down = "http://127.0.0.1:" + std::to_string(port);
  const CliResult alone = run_cli({"-o", "json", "list files"}, env_with_model());
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  const std::string expected = json::parse(alone.out)["command"];

  const CliResult no_fallback =
      run_cli({"--backend", "openai", "--url", down, "-o", "json", "list files"}, env_with_model());
  EXPECT_EQ(no_fallback.exit_code, 8) << no_fallback.err;
  EXPECT_TRUE(no_fallback.out.empty()) << no_fallback.out;
  EXPECT_NE(no_fallback.err.find("cannot reach " + down), std::string::npos) << no_fallback.err;

  const CliResult flag = run_cli(
      {"--backend", "openai", "--url", down, "--fallback", "embedded", "-o", "json", "list files"},
      env_with_model());
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  const json j = json::parse(flag.out);
  EXPECT_EQ(j["command"], expected);
  EXPECT_NE(j["backend"], "openai");
  const auto err_lines = lines_of(flag.err);
  ASSERT_EQ(err_lines.size(), 1u) << flag.err;
  EXPECT_NE(err_lines[0].find("cannot reach " + down), std::string::npos) << flag.err;
  EXPECT_NE(err_lines[0].find("using the embedded model instead (remote.fallback = embedded)"),
            std::string::npos)
      << flag.err;

  // The same from the config file's [remote] table, with ollama as the API.
  std::ofstream(dir_ / "config" / "config.toml")
      << "backend = \"ollama\"\n[remote]\nurl = \"" << down << "\"\nfallback = \"embedded\"\n";
  const CliResult file = run_cli({"-o", "json", "list files"}, env_with_model());
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(json::parse(file.out)["command"], expected);
  EXPECT_EQ(lines_of(file.err).size(), 1u) << file.err;
  // --fallback none on the command line wins over the file.
  const CliResult none =
      run_cli({"--fallback", "none", "-o", "json", "list files"}, env_with_model());
  EXPECT_EQ(none.exit_code, 8) << none.err;
}

TEST_F(RemoteFallbackCli, MissingEmbeddedModelAsksTheServerOnlyWhenAsked) {
  start_server();
  const std::string missing = (dir_ / "missing.gguf").string();
  const CliResult direct =
      run_cli({"--backend", "openai", "--url", url(), "-o", "json", "list files"}, env());
  ASSERT_EQ(direct.exit_code, 0) << direct.err;

  const CliResult no_fallback = run_cli({"--model", missing, "-o", "json", "list files"}, env());
  EXPECT_EQ(no_fallback.exit_code, 5) << no_fallback.err;
  EXPECT_NE(no_fallback.err.find(missing), std::string::npos) << no_fallback.err;

  const CliResult flag = run_cli(
      {"--model", missing, "--fallback", "openai", "--url", url(), "-o", "json", "list files"},
      env());
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  const json j = json::parse(flag.out);
  EXPECT_EQ(j["command"], json::parse(direct.out)["command"]);
  EXPECT_EQ(j["backend"], "openai");
  const auto err_lines = lines_of(flag.err);
  ASSERT_EQ(err_lines.size(), 1u) << flag.err;
  EXPECT_NE(err_lines[0].find("the embedded model cannot be used"), std::string::npos) << flag.err;
  EXPECT_NE(err_lines[0].find(missing), std::string::npos) << flag.err;
  EXPECT_NE(err_lines[0].find("asking the openai server at " + url()), std::string::npos)
      << flag.err;

  // A fallback server that is down too: its error, with the network's exit status.
  const std::string down = "http://127.0.0.1:" + std::to_string(testing::closed_loopback_port());
  const CliResult both = run_cli(
      {"--model", missing, "--fallback", "ollama", "--url", down, "-o", "json", "list files"},
      env());
  EXPECT_EQ(both.exit_code, 8) << both.err;
  EXPECT_NE(both.err.find("cannot reach " + down), std::string::npos) << both.err;

  const CliResult no_url =
      run_cli({"--model", missing, "--fallback", "openai", "-o", "json", "list files"}, env());
  EXPECT_EQ(no_url.exit_code, 2) << no_url.err;
  EXPECT_NE(no_url.err.find("remote.fallback = openai needs the server's address"),
            std::string::npos)
      << no_url.err;
  const CliResult bad = run_cli({"--fallback", "local", "list files"}, env());
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("none, embedded, openai, ollama"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cmdai::cli
