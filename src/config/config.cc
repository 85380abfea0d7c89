#include "config/config.h"

#include <pwd.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <variant>

namespace cmdai::config {
namespace {

using Member =
    std::variant<std::string Config::*, float Config::*, int Config::*, uint64_t Config::*>;

struct KeySpec {
  KeyInfo info;
  Member member;
  double min = 0;
  double max = 0;
  std::vector<std::string_view> choices;  // for strings; empty = anything goes
};

constexpr size_t kMaxConfigFileBytes = 1 << 20;

const std::vector<KeySpec>& specs() {
  static const std::vector<KeySpec> table = {
      {{"shell", "CMDAI_SHELL", ValueKind::kString,
        "shell the commands are written for (bash, zsh, fish, sh, dash, ksh); empty = from $SHELL"},
       &Config::shell,
       0,
       0,
       {"", "bash", "zsh", "fish", "sh", "dash", "ksh"}},
      {{"safety", "CMDAI_SAFETY", ValueKind::kString,
        "how cautious the safety check is: strict, moderate or permissive"},
       &Config::safety,
       0,
       0,
       {"strict", "moderate", "permissive"}},
      {{"model", "CMDAI_MODEL", ValueKind::kString,
        "catalog model name or path to a .gguf file; empty = the default model"},
       &Config::model,
       0,
       0,
       {}},
      {{"backend", "CMDAI_BACKEND", ValueKind::kString,
        "where inference runs: auto, cpu, cuda or mlx, or a server: openai or ollama ([remote])"},
       &Config::backend,
       0,
       0,
       {"auto", "cpu", "cuda", "mlx", "openai", "ollama"}},
      {{"temperature", "CMDAI_TEMPERATURE", ValueKind::kFloat,
        "sampling temperature, 0 to 2; 0 = greedy (same command every time)"},
       &Config::temperature,
       0,
       2,
       {}},
      {{"top_k", "CMDAI_TOP_K", ValueKind::kInt, "sample among the k most likely tokens; 0 = off"},
       &Config::top_k,
       0,
       1'000'000,
       {}},
      {{"top_p", "CMDAI_TOP_P", ValueKind::kFloat, "nucleus sampling mass, 0 to 1; 1 = off"},
       &Config::top_p,
       0,
       1,
       {}},
      {{"min_p", "CMDAI_MIN_P", ValueKind::kFloat,
        "drop tokens less likely than min_p times the best one, 0 to 1; 0 = off"},
       &Config::min_p,
       0,
       1,
       {}},
      {{"repeat_penalty", "CMDAI_REPEAT_PENALTY", ValueKind::kFloat,
        "penalty for repeating recent tokens, 0.5 to 2; 1 = off"},
       &Config::repeat_penalty,
       0.5,
       2,
       {}},
      {{"max_tokens", "CMDAI_MAX_TOKENS", ValueKind::kInt,
        "most tokens generated for one command, 1 to 4096"},
       &Config::max_tokens,
       1,
       4096,
       {}},
      {{"seed", "CMDAI_SEED", ValueKind::kUnsigned,
        "random seed for sampling (temperature > 0): same seed, same command"},
       &Config::seed,
       0,
       0,
       {}},
      {{"threads", "CMDAI_THREADS", ValueKind::kInt,
        "CPU threads for inference, 0 to 1024; 0 = let cmdai choose"},
       &Config::threads,
       0,
       1024,
       {}},
      {{"timeout", "CMDAI_TIMEOUT", ValueKind::kFloat,
        "seconds a request's generation may take once the model is loaded, 0 to 3600; 0 = no "
        "limit"},
       &Config::timeout_seconds,
       0,
       3600,
       {}},
      {{"output", "CMDAI_OUTPUT", ValueKind::kString, "output format: plain, json or yaml"},
       &Config::output,
       0,
       0,
       {"plain", "json", "yaml"}},
      {{"remote.url", "CMDAI_REMOTE_URL", ValueKind::kString,
        "server for --backend openai|ollama, e.g. http://127.0.0.1:8080"},
       &Config::remote_url,
       0,
       0,
       {}},
      {{"remote.model", "CMDAI_REMOTE_MODEL", ValueKind::kString,
        "the server's model name; empty = `model`, else the server's default"},
       &Config::remote_model,
       0,
       0,
       {}},
      {{"remote.api_key_env", "CMDAI_REMOTE_API_KEY_ENV", ValueKind::kString,
        "environment variable holding the server's API key"},
       &Config::remote_api_key_env,
       0,
       0,
       {}},
      {{"remote.timeout", "CMDAI_REMOTE_TIMEOUT", ValueKind::kInt,
        "seconds one request to the server may take, 1 to 3600"},
       &Config::remote_timeout,
       1,
       3600,
       {}},
      {{"remote.fallback", "CMDAI_REMOTE_FALLBACK", ValueKind::kString,
        "what answers when the chosen side cannot: embedded (the server is unreachable), openai or "
        "ollama (the embedded model is missing or fails to load; the server at remote.url), none"},
       &Config::remote_fallback,
       0,
       0,
       {"none", "embedded", "openai", "ollama"}},
  };
  static_assert(std::tuple_size_v<decltype(Config::sources)> == kKeyCount);
  if (table.size() != kKeyCount) std::abort();  // Config::sources would be indexed out of range
  return table;
}

int key_index(std::string_view name) {
  const std::vector<KeySpec>& table = specs();
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].info.name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string known_key_names() {
  std::string names;
  for (const KeySpec& spec : specs()) {
    if (!names.empty()) names += ", ";
    names += spec.info.name;
  }
  return names;
}

std::string choice_list(const KeySpec& spec) {
  std::string list;
  for (std::string_view choice : spec.choices) {
    if (choice.empty()) continue;
    if (!list.empty()) list += ", ";
    list += choice;
  }
  return list;
}

// "0.95", "0.0": shortest text that reads back as the same float, always with a decimal point so
// TOML reads it as a float.
std::string float_text(float value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

Error bad_value(std::string_view origin, const KeySpec& spec, std::string_view problem) {
  return make_error(ErrorCode::kInvalidArgument, "{}: key '{}' {}", origin, spec.info.name,
                    problem);
}

std::string range_problem(const KeySpec& spec, std::string_view given) {
  const bool whole = spec.info.kind == ValueKind::kInt;
  return fmt::format("must be a {} from {} to {}, got '{}'", whole ? "whole number" : "number",
                     spec.min, spec.max, given);
}

Status store_string(Config& config, const KeySpec& spec, std::string value,
                    std::string_view origin) {
  if (!spec.choices.empty()) {
    bool allowed = false;
    for (std::string_view choice : spec.choices) allowed = allowed || choice == value;
    if (!allowed) {
      return bad_value(origin, spec,
                       fmt::format("must be one of {}, got '{}'", choice_list(spec), value));
    }
  }
  config.*std::get<std::string Config::*>(spec.member) = std::move(value);
  return ok_status();
}

Status store_number(Config& config, const KeySpec& spec, double value, std::string_view given,
                    std::string_view origin) {
  if (!std::isfinite(value) || value < spec.min || value > spec.max) {
    return bad_value(origin, spec, range_problem(spec, given));
  }
  if (spec.info.kind == ValueKind::kFloat) {
    config.*std::get<float Config::*>(spec.member) = static_cast<float>(value);
  } else {
    if (value != std::floor(value)) return bad_value(origin, spec, range_problem(spec, given));
    config.*std::get<int Config::*>(spec.member) = static_cast<int>(value);
  }
  return ok_status();
}

// Flag and environment syntax: the whole text must be the value.
Status store_text(Config& config, const KeySpec& spec, std::string_view text,
                  std::string_view origin) {
  if (spec.info.kind == ValueKind::kString) {
    return store_string(config, spec, std::string(text), origin);
  }
  const std::string copy(text);
  char* end = nullptr;
  errno = 0;
  if (spec.info.kind == ValueKind::kUnsigned) {
    const bool digits_only =
        !copy.empty() && copy.find_first_not_of("0123456789") == std::string::npos;
    const unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
    if (!digits_only || errno == ERANGE) {
      return bad_value(origin, spec,
                       fmt::format("must be a whole number from 0 to {}, got '{}'",
                                   std::numeric_limits<uint64_t>::max(), text));
    }
    config.*std::get<uint64_t Config::*>(spec.member) = value;
    return ok_status();
  }
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || errno == ERANGE) {
    return bad_value(origin, spec, range_problem(spec, text));
  }
  return store_number(config, spec, value, text, origin);
}

Status store_toml(Config& config, const KeySpec& spec, const toml::node& node,
                  std::string_view origin) {
  switch (spec.info.kind) {
    case ValueKind::kString:
      if (const auto* text = node.as_string())
        return store_string(config, spec, text->get(), origin);
      return bad_value(origin, spec, "must be a string (in double quotes)");
    case ValueKind::kFloat:
    case ValueKind::kInt: {
      std::optional<double> value;
      if (const auto* integer = node.as_integer()) value = static_cast<double>(integer->get());
      if (const auto* floating = node.as_floating_point()) value = floating->get();
      if (!value) return bad_value(origin, spec, range_problem(spec, "a non-number"));
      return store_number(config, spec, *value, fmt::format("{}", *value), origin);
    }
    case ValueKind::kUnsigned:
      if (const auto* integer = node.as_integer(); integer != nullptr && integer->get() >= 0) {
        config.*std::get<uint64_t Config::*>(spec.member) = static_cast<uint64_t>(integer->get());
        return ok_status();
      }
      return bad_value(origin, spec, "must be a whole number >= 0");
  }
  return ok_status();
}

std::string toml_quoted(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      quoted += fmt::format("\\u{:04X}", byte);
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::filesystem::path config_dir() {
  if (const char* dir = std::getenv("CMDAI_CONFIG_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::filesystem::path(xdg) / "cmdai";
  }
  std::filesystem::path home;
  if (const char* env_home = std::getenv("HOME"); env_home != nullptr && *env_home != '\0') {
    home = env_home;
  } else if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir) {
    home = entry->pw_dir;
  }
  return home / ".config" / "cmdai";
}

Result<std::string> read_small_file(const std::filesystem::path& path) {
  // Only a regular file is read: a FIFO would block forever, a directory reads as nothing.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return make_error(ErrorCode::kInvalidArgument, "config file {} is not a regular file",
                      path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, "cannot read config file {}", path.string());
  std::string text;
  text.resize(kMaxConfigFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigFileBytes) {
    return make_error(ErrorCode::kInvalidArgument, "config file {} is larger than {} bytes",
                      path.string(), kMaxConfigFileBytes);
  }
  return text;
}

}  // namespace

std::string_view source_name(Source source) {
  switch (source) {
    case Source::kDefault:
      return "default";
    case Source::kFile:
      return "file";
    case Source::kEnv:
      return "env";
    case Source::kFlag:
      return "flag";
  }
  return "default";
}

const std::vector<KeyInfo>& config_keys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> infos;
    for (const KeySpec& spec : specs()) infos.push_back(spec.info);
    return infos;
  }();
  return keys;
}

const KeyInfo* find_key(std::string_view name) {
  const int index = key_index(name);
  return index < 0 ? nullptr : &config_keys()[static_cast<size_t>(index)];
}

Status Config::set(std::string_view key, std::string_view text, Source source) {
  const int index = key_index(key);
  if (index < 0) {
    return make_error(ErrorCode::kInvalidArgument, "unknown config key '{}' (known keys: {})", key,
                      known_key_names());
  }
  const KeySpec& spec = specs()[static_cast<size_t>(index)];
  std::string origin;
  switch (source) {
    case Source::kEnv:
      origin = fmt::format("environment variable {}", spec.info.env_var);
      break;
    case Source::kFlag:
      origin = "command-line option";
      break;
    default:
      origin = "config";
      break;
  }
  CMDAI_TRY(store_text(*this, spec, text, origin));
  sources[static_cast<size_t>(index)] = source;
  return ok_status();
}

Source Config::source_of(std::string_view key) const {
  const int index = key_index(key);
  return index < 0 ? Source::kDefault : sources[static_cast<size_t>(index)];
}

std::string Config::get(std::string_view key) const {
  const int index = key_index(key);
  if (index < 0) return {};
  const Member& member = specs()[static_cast<size_t>(index)].member;
  if (auto text = std::get_if<std::string Config::*>(&member)) return this->*(*text);
  if (auto real = std::get_if<float Config::*>(&member)) return float_text(this->*(*real));
  if (auto whole = std::get_if<int Config::*>(&member)) return std::to_string(this->*(*whole));
  return std::to_string(this->*std::get<uint64_t Config::*>(member));
}

std::string Config::to_toml() const {
  std::string out = "# cmdai configuration; each line says where its value came from\n";
  for (size_t i = 0; i < specs().size(); ++i) {
    const KeyInfo& info = specs()[i].info;
    const std::string value = get(info.name);
    const std::string shown = info.kind == ValueKind::kString ? toml_quoted(value) : value;
    out += fmt::format("{} = {}  # {}\n", info.name, shown, source_name(sources[i]));
  }
  return out;
}

std::filesystem::path default_config_path() { return config_dir() / "config.toml"; }

Status apply_toml(Config& config, std::string_view toml_text, std::string_view origin) {
  toml::table table;
  try {
    table = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& error) {
    return make_error(ErrorCode::kInvalidArgument, "{}, line {}, column {}: {}", origin,
                      error.source().begin.line, error.source().begin.column, error.description());
  }
  // The [remote] table holds the keys named "remote.<key>".
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (auto&& [key, node] : table) {
    if (const toml::table* inner = node.as_table(); inner != nullptr && key.str() == "remote") {
      for (auto&& [inner_key, inner_node] : *inner) {
        entries.emplace_back(std::string(key.str()) + "." + std::string(inner_key.str()),
                             &inner_node);
      }
    } else {
      entries.emplace_back(std::string(key.str()), &node);
    }
  }
  for (const auto& [name, node_ptr] : entries) {
    const toml::node& node = *node_ptr;
    const std::string where = fmt::format("{}, line {}", origin, node.source().begin.line);
    const int index = key_index(name);
    if (index < 0) {
      return make_error(ErrorCode::kInvalidArgument, "{}: unknown key '{}' (known keys: {})", where,
                        name, known_key_names());
    }
    const KeySpec& spec = specs()[static_cast<size_t>(index)];
    CMDAI_TRY(store_toml(config, spec, node, where));
    config.sources[static_cast<size_t>(index)] = Source::kFile;
  }
  return ok_status();
}

Status apply_environment(Config& config, const GetEnv& getenv) {
  for (const KeySpec& spec : specs()) {
    const std::string env_var(spec.info.env_var);
    const char* value = getenv ? getenv(env_var.c_str()) : std::getenv(env_var.c_str());
    if (value == nullptr || *value == '\0') continue;  // VAR= unsets, as in most tools
    CMDAI_TRY(config.set(spec.info.name, value, Source::kEnv));
  }
  return ok_status();
}

Result<Config> load_config(const LoadOptions& options) {
  Config config;
  config.file = options.file.empty() ? default_config_path() : options.file;
  std::error_code ec;
  if (std::filesystem::exists(config.file, ec)) {
    CMDAI_ASSIGN_OR_RETURN(std::string text, read_small_file(config.file));
    CMDAI_TRY(apply_toml(config, text, fmt::format("config file {}", config.file.string())));
    config.file_loaded = true;
  }
  CMDAI_TRY(apply_environment(config, options.getenv));
  return config;
}

}  // namespace cmdai::config
