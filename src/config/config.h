// cmdai's settings and where each came from: defaults < config.toml < CMDAI_* environment
// variables < command-line flags (the CLI applies flags last with Config::set).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sampling_params.h"

namespace cmdai::config {

enum class Source { kDefault, kFile, kEnv, kFlag };
std::string_view source_name(Source source);  // "default", "file", "env", "flag"

enum class ValueKind { kString, kFloat, kInt, kUnsigned };

struct KeyInfo {
  std::string_view name;     // TOML key and `config show` name: "max_tokens"
  std::string_view env_var;  // "CMDAI_MAX_TOKENS"
  ValueKind kind;
  std::string_view description;  // what it does and what values it takes
};

inline constexpr size_t kKeyCount = 19;

// Every key, in display order.
const std::vector<KeyInfo>& config_keys();
const KeyInfo* find_key(std::string_view name);

struct Config {
  std::string shell;                // "" = detect from $SHELL
  std::string safety = "moderate";  // strict | moderate | permissive
  std::string model;                // catalog name or .gguf path; "" = the catalog default
  // auto | cpu | cuda | mlx (auto: the GPU if one answers) | openai | ollama (a remote server)
  std::string backend = "auto";
  float temperature = 0.0f;     // 0 = greedy: the most likely command, every time
  int top_k = 40;               // 0 = off
  float top_p = 0.95f;          // 1 = off
  float min_p = 0.05f;          // 0 = off
  float repeat_penalty = 1.0f;  // 1 = off
  int max_tokens = 128;
  uint64_t seed = 42;
  int threads = 0;                // 0 = let the engine choose
  float timeout_seconds = 30.0f;  // generation of one request, after the model loads; 0 = none
  std::string output = "plain";   // plain | json | yaml
  // The [remote] table: the server --backend openai|ollama talks to (docs/REMOTE.md).
  std::string remote_url;    // http(s)://host:port
  std::string remote_model;  // the server's model name; "" = `model`, else its default
  std::string remote_api_key_env = "CMDAI_REMOTE_API_KEY";  // the variable holding the key
  int remote_timeout = 60;                                  // seconds for one request
  // none | embedded (a remote backend's server is unreachable) | openai | ollama (the embedded
  // model is missing or fails to load: that API at remote_url answers instead)
  std::string remote_fallback = "none";

  // The sampling keys as the generator takes them (repeat_window at its default).
  SamplingParams sampling() const {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repeat_penalty = repeat_penalty;
    p.seed = seed;
    return p;
  }

  // The file that was read, or would have been read when it does not exist.
  std::filesystem::path file;
  bool file_loaded = false;

  // Parses `text` for `key` (flag / environment syntax), checks its range, stores it and records
  // `source`. kInvalidArgument names the key, the allowed values and what was given.
  Status set(std::string_view key, std::string_view text, Source source);
  Source source_of(std::string_view key) const;
  // The value as text: strings raw, floats in shortest round-trip form ("0.95").
  std::string get(std::string_view key) const;
  // Every key as TOML, each line commented with its source; loadable by load_config.
  std::string to_toml() const;

  std::array<Source, kKeyCount> sources{};  // by index in config_keys(); all kDefault initially
};

// ($CMDAI_CONFIG_DIR or ($XDG_CONFIG_HOME or ~/.config)/cmdai)/config.toml
std::filesystem::path default_config_path();

// Environment lookup; replaceable so tests need not touch the real environment.
using GetEnv = std::function<const char*(const char* name)>;

struct LoadOptions {
  std::filesystem::path file;  // empty = default_config_path(); a missing file is not an error
  GetEnv getenv;               // nullptr = std::getenv
};

// Defaults, then the file, then the environment. Errors name the file, line and key (or the
// environment variable) and say what values are allowed.
Result<Config> load_config(const LoadOptions& options = {});

// The layers on their own, for tests and for `--config`-style callers. `origin` names the text
// in error messages (normally the file path).
Status apply_toml(Config& config, std::string_view toml_text, std::string_view origin);
Status apply_environment(Config& config, const GetEnv& getenv);

}  // namespace cmdai::config
