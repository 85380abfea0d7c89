#include "config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

namespace cmdai::config {
namespace {

// A fake environment: only the variables in `values` exist.
GetEnv fake_env(std::map<std::string, std::string> values) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(values));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cmdai-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& text) {
    const std::filesystem::path path = dir_ / "config.toml";
    std::ofstream(path) << text;
    return path;
  }

  Result<Config> load(const std::string& toml, std::map<std::string, std::string> env = {}) {
    LoadOptions options;
    options.file = write(toml);
    options.getenv = fake_env(std::move(env));
    return load_config(options);
  }

  std::filesystem::path dir_;
};

TEST(Config, DefaultsAreGreedyAndShort) {
  Config config;
  EXPECT_EQ(config.temperature, 0.0f);
  EXPECT_EQ(config.max_tokens, 128);
  EXPECT_EQ(config.safety, "moderate");
  EXPECT_EQ(config.backend, "auto");
  EXPECT_EQ(config.output, "plain");
  for (const KeyInfo& key : config_keys()) {
    EXPECT_EQ(config.source_of(key.name), Source::kDefault) << key.name;
  }
  EXPECT_EQ(config_keys().size(), kKeyCount);
}

TEST_F(ConfigFileTest, MissingFileGivesDefaultsAndRemembersThePath) {
  LoadOptions options;
  options.file = dir_ / "absent.toml";
  options.getenv = fake_env({});
  auto config = load_config(options);
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_FALSE(config->file_loaded);
  EXPECT_EQ(config->file, dir_ / "absent.toml");
  EXPECT_EQ(config->max_tokens, 128);
}

// Issue 15 defects 4 and 12: a FIFO as the config file blocked forever; a directory was silently
// taken as no file. Both are errors now (the FIFO's load runs in a child an alarm would end).
TEST_F(ConfigFileTest, AFifoOrADirectoryAsTheConfigFileIsAnError) {
  const std::filesystem::path fifo = dir_ / "fifo.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(5);
    LoadOptions options;
    options.file = fifo;
    options.getenv = fake_env({});
    auto config = load_config(options);
    ::_exit(!config.ok() && config.error().code == ErrorCode::kInvalidArgument ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "loading a FIFO config hung";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "a FIFO config was not refused";

  std::filesystem::create_directories(dir_ / "dir.toml");
  LoadOptions options;
  options.file = dir_ / "dir.toml";
  options.getenv = fake_env({});
  auto config = load_config(options);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("not a regular file"), std::string::npos);
}

TEST_F(ConfigFileTest, FileOverridesDefaultsAndEnvironmentOverridesTheFile) {
  auto config = load("temperature = 0.7\nmax_tokens = 64\nsafety = \"strict\"\nshell = \"zsh\"\n",
                     {{"CMDAI_MAX_TOKENS", "256"}, {"CMDAI_SHELL", "fish"}});
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_TRUE(config->file_loaded);
  EXPECT_FLOAT_EQ(config->temperature, 0.7f);
  EXPECT_EQ(config->source_of("temperature"), Source::kFile);
  EXPECT_EQ(config->safety, "strict");
  EXPECT_EQ(config->max_tokens, 256);
  EXPECT_EQ(config->source_of("max_tokens"), Source::kEnv);
  EXPECT_EQ(config->shell, "fish");
  EXPECT_EQ(config->source_of("backend"), Source::kDefault);
}

TEST_F(ConfigFileTest, FlagsSetLastWinOverEverything) {
  auto config = load("threads = 2\n", {{"CMDAI_THREADS", "3"}});
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  ASSERT_TRUE(config->set("threads", "4", Source::kFlag).ok());
  EXPECT_EQ(config->threads, 4);
  EXPECT_EQ(config->source_of("threads"), Source::kFlag);
}

// Issue 15: the request timeout was fixed at 30 s; it is a setting like every other.
TEST_F(ConfigFileTest, TimeoutComesFromTheFileTheEnvironmentOrAFlag) {
  EXPECT_EQ(Config{}.timeout_seconds, 30.0f);
  auto from_file = load("timeout = 5\n");
  ASSERT_TRUE(from_file.ok()) << from_file.error().to_string();
  EXPECT_EQ(from_file->timeout_seconds, 5.0f);
  EXPECT_EQ(from_file->source_of("timeout"), Source::kFile);
  auto from_env = load("timeout = 5\n", {{"CMDAI_TIMEOUT", "2.5"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error().to_string();
  EXPECT_EQ(from_env->timeout_seconds, 2.5f);
  EXPECT_EQ(from_env->source_of("timeout"), Source::kEnv);
  ASSERT_TRUE(from_env->set("timeout", "0", Source::kFlag).ok());
  EXPECT_EQ(from_env->timeout_seconds, 0.0f);
  EXPECT_EQ(from_env->source_of("timeout"), Source::kFlag);
  auto too_long = load("timeout = 7200\n");
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("from 0 to 3600"), std::string::npos)
      << too_long.error().message;
}

TEST_F(ConfigFileTest, EmptyEnvironmentVariableCountsAsUnset) {
  auto config = load("model = \"/models/x.gguf\"\n", {{"CMDAI_MODEL", ""}});
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->model, "/models/x.gguf");
  EXPECT_EQ(config->source_of("model"), Source::kFile);
}

TEST_F(ConfigFileTest, IntegerIsAcceptedForAFloatKey) {
  auto config = load("temperature = 1\n");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->temperature, 1.0f);
}

TEST_F(ConfigFileTest, BadFilesAreErrorsNamingFileLineAndKey) {
  struct Case {
    const char* toml;
    const char* line;      // "line N" expected in the message
    const char* fragment;  // another piece the message must contain
  };
  const Case cases[] = {
      {"temperature = 0.2\nmax_tokens = = 3\n", "line 2", "config.toml"},
      {"\ntemperature = \"hot\"\n", "line 2", "temperature"},
      {"temperature = 5.0\n", "line 1", "from 0 to 2"},
      {"max_tokens = 1.5\n", "line 1", "whole number"},
      {"max_tokens = 0\n", "line 1", "max_tokens"},
      {"safety = \"loose\"\n", "line 1", "strict, moderate, permissive"},
      {"backend = 3\n", "line 1", "must be a string"},
      {"seed = -1\n", "line 1", "seed"},
      {"\n\ntemprature = 0.1\n", "line 3", "unknown key 'temprature'"},
      {"[model]\nname = \"x\"\n", "line 1", "model"},
  };
  for (const Case& c : cases) {
    auto config = load(c.toml);
    ASSERT_FALSE(config.ok()) << c.toml;
    const std::string& message = config.error().message;
    EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument) << message;
    EXPECT_NE(message.find((dir_ / "config.toml").string()), std::string::npos) << message;
    EXPECT_NE(message.find(c.line), std::string::npos) << message;
    EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
  }
}

TEST_F(ConfigFileTest, RemoteTableSetsTheServerForRemoteBackends) {
  auto config = load(
      "backend = \"openai\"\n[remote]\nurl = \"http://127.0.0.1:8080\"\nmodel = \"m\"\n"
      "api_key_env = \"MY_KEY\"\ntimeout = 5\nfallback = \"embedded\"\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->backend, "openai");
  EXPECT_EQ(config->remote_url, "http://127.0.0.1:8080");
  EXPECT_EQ(config->remote_model, "m");
  EXPECT_EQ(config->remote_api_key_env, "MY_KEY");
  EXPECT_EQ(config->remote_timeout, 5);
  EXPECT_EQ(config->remote_fallback, "embedded");
  EXPECT_EQ(config->source_of("remote.url"), Source::kFile);
  auto bad = load("[remote]\ntimeout = 0\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("remote.timeout"), std::string::npos) << bad.error().message;
  auto bad_fallback = load("[remote]\nfallback = \"local\"\n");
  ASSERT_FALSE(bad_fallback.ok());
  EXPECT_NE(bad_fallback.error().message.find("none, embedded, openai, ollama"), std::string::npos)
      << bad_fallback.error().message;
}

TEST(Config, BadEnvironmentValuesNameTheVariable) {
  struct Case {
    const char* variable;
    const char* value;
  };
  const Case cases[] = {
      {"CMDAI_TEMPERATURE", "warm"}, {"CMDAI_TEMPERATURE", "0.5x"}, {"CMDAI_MAX_TOKENS", "10000"},
      {"CMDAI_THREADS", "-1"},       {"CMDAI_SEED", "-1"},          {"CMDAI_SEED", "1e3"},
      {"CMDAI_BACKEND", "tpu"},      {"CMDAI_OUTPUT", "xml"},       {"CMDAI_TOP_P", "nan"},
      {"CMDAI_TIMEOUT", "soon"},     {"CMDAI_TIMEOUT", "-1"},       {"CMDAI_TIMEOUT", "3601"},
  };
  for (const Case& c : cases) {
    Config config;
    Status status = apply_environment(config, fake_env({{c.variable, c.value}}));
    ASSERT_FALSE(status.ok()) << c.variable << "=" << c.value;
    EXPECT_NE(status.error().message.find(c.variable), std::string::npos) << status.error().message;
    EXPECT_NE(status.error().message.find(c.value), std::string::npos) << status.error().message;
  }
}

TEST(Config, SeedTakesTheWholeUnsignedRange) {
  Config config;
  ASSERT_TRUE(apply_environment(config, fake_env({{"CMDAI_SEED", "18446744073709551615"}})).ok());
  EXPECT_EQ(config.seed, 18446744073709551615ull);
  EXPECT_FALSE(config.set("seed", "18446744073709551616", Source::kFlag).ok());
}

TEST(Config, SetRejectsUnknownKeysAndKeepsTheOldValue) {
  Config config;
  EXPECT_FALSE(config.set("colour", "red", Source::kFlag).ok());
  EXPECT_FALSE(config.set("top_k", "many", Source::kFlag).ok());
  EXPECT_EQ(config.top_k, 40);
  EXPECT_EQ(config.source_of("top_k"), Source::kDefault);
}

TEST(Config, ToTomlRoundTripsAndShowsSources) {
  Config original;
  ASSERT_TRUE(
      apply_toml(original, "model = \"a \\\"quoted\\\" path.gguf\"\ntop_p = 0.9\n", "test").ok());
  ASSERT_TRUE(original.set("temperature", "0.3", Source::kEnv).ok());
  const std::string toml = original.to_toml();
  EXPECT_NE(toml.find("temperature = 0.3  # env"), std::string::npos) << toml;
  EXPECT_NE(toml.find("top_p = 0.9  # file"), std::string::npos) << toml;
  EXPECT_NE(toml.find("max_tokens = 128  # default"), std::string::npos) << toml;
  Config reloaded;
  ASSERT_TRUE(apply_toml(reloaded, toml, "round trip").ok()) << toml;
  for (const KeyInfo& key : config_keys()) {
    EXPECT_EQ(reloaded.get(key.name), original.get(key.name)) << key.name;
  }
}

TEST(Config, DefaultPathHonoursCmdaiConfigDir) {
  const char* old = std::getenv("CMDAI_CONFIG_DIR");
  const std::string saved = old ? old : "";
  setenv("CMDAI_CONFIG_DIR", "/tmp/cmdai-config-test", 1);
  EXPECT_EQ(default_config_path(), "/tmp/cmdai-config-test/config.toml");
  if (old) {
    setenv("CMDAI_CONFIG_DIR", saved.c_str(), 1);
  } else {
    unsetenv("CMDAI_CONFIG_DIR");
  }
}

}  // namespace
}  // namespace cmdai::config
