// `cmdai model inspect FILE [--json] [--tensors]`: what a GGUF file holds (architecture, shape,
// parameter count, tensor types) without loading its weights.
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "catalog/catalog.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "gguf/gguf_file.h"

namespace cmdai::cli {
namespace {

struct ModelSummary {
  std::string architecture;
  std::optional<std::string> name;
  std::optional<std::string> tokenizer;
  std::optional<int64_t> n_layers, hidden_dim, n_heads, n_kv_heads, ffn_dim, vocab_size, head_dim;
  std::optional<int64_t> context_length;
  std::optional<double> rope_freq_base;
  int64_t n_params = 0;
  uint64_t file_size_bytes = 0;
  uint32_t gguf_version = 0;
  std::map<std::string, int64_t> tensor_types;  // type name -> tensor count
  size_t n_tensors = 0;
};

// Absent is fine (nullopt); present with the wrong type means the file is corrupt.
Result<std::optional<int64_t>> optional_int(const gguf::GgufFile& file, const std::string& key) {
  if (file.find(key) == nullptr) return std::optional<int64_t>();
  CMDAI_ASSIGN_OR_RETURN(int64_t value, file.get_int(key));
  return std::optional<int64_t>(value);
}

Result<std::optional<std::string>> optional_string(const gguf::GgufFile& file,
                                                   const std::string& key) {
  if (file.find(key) == nullptr) return std::optional<std::string>();
  CMDAI_ASSIGN_OR_RETURN(std::string_view value, file.get_string(key));
  return std::optional<std::string>(std::string(value));
}

Status read_hyperparameters(const gguf::GgufFile& file, ModelSummary& s) {
  const std::string a = s.architecture + ".";
  CMDAI_ASSIGN_OR_RETURN(s.n_layers, optional_int(file, a + "block_count"));
  CMDAI_ASSIGN_OR_RETURN(s.hidden_dim, optional_int(file, a + "embedding_length"));
  CMDAI_ASSIGN_OR_RETURN(s.n_heads, optional_int(file, a + "attention.head_count"));
  CMDAI_ASSIGN_OR_RETURN(s.n_kv_heads, optional_int(file, a + "attention.head_count_kv"));
  if (!s.n_kv_heads) s.n_kv_heads = s.n_heads;  // no key means no grouped-query attention
  CMDAI_ASSIGN_OR_RETURN(s.ffn_dim, optional_int(file, a + "feed_forward_length"));
  CMDAI_ASSIGN_OR_RETURN(s.context_length, optional_int(file, a + "context_length"));
  CMDAI_ASSIGN_OR_RETURN(s.head_dim, optional_int(file, a + "attention.key_length"));
  if (!s.head_dim && s.hidden_dim && s.n_heads && *s.n_heads > 0)
    s.head_dim = *s.hidden_dim / *s.n_heads;
  if (file.find(a + "rope.freq_base") != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(s.rope_freq_base, file.get_float(a + "rope.freq_base"));
  }
  return ok_status();
}

Result<ModelSummary> summarize(const gguf::GgufFile& file) {
  ModelSummary s;
  s.architecture = file.architecture();
  CMDAI_ASSIGN_OR_RETURN(s.name, optional_string(file, "general.name"));
  CMDAI_ASSIGN_OR_RETURN(s.tokenizer, optional_string(file, "tokenizer.ggml.model"));
  if (!s.architecture.empty()) CMDAI_TRY(read_hyperparameters(file, s));
  if (file.find("tokenizer.ggml.tokens") != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(auto tokens, file.get_string_array("tokenizer.ggml.tokens"));
    s.vocab_size = static_cast<int64_t>(tokens->size());
  } else if (const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight")) {
    s.vocab_size = embd->rows();
  }
  for (const gguf::TensorInfo& t : file.tensors()) {
    s.n_params += t.n_elements;
    ++s.tensor_types[std::string(type_name(t.type))];
  }
  s.n_tensors = file.tensors().size();
  s.file_size_bytes = file.file_size();
  s.gguf_version = file.version();
  return s;
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string shape_of(const gguf::TensorInfo& t) {
  std::string out;
  for (size_t i = 0; i < t.ne.size(); ++i) out += (i ? " x " : "") + std::to_string(t.ne[i]);
  return out;
}

void print_json(const gguf::GgufFile& file, const ModelSummary& s, bool with_tensors) {
  nlohmann::json out = {{"architecture", s.architecture},
                        {"n_layers", or_null(s.n_layers)},
                        {"hidden_dim", or_null(s.hidden_dim)},
                        {"n_heads", or_null(s.n_heads)},
                        {"n_kv_heads", or_null(s.n_kv_heads)},
                        {"ffn_dim", or_null(s.ffn_dim)},
                        {"vocab_size", or_null(s.vocab_size)},
                        {"head_dim", or_null(s.head_dim)},
                        {"context_length", or_null(s.context_length)},
                        {"rope_freq_base", or_null(s.rope_freq_base)},
                        {"n_params", s.n_params},
                        {"file_size_bytes", s.file_size_bytes},
                        {"gguf_version", s.gguf_version},
                        {"tensor_types", s.tensor_types},
                        {"n_tensors", s.n_tensors},
                        {"tokenizer", or_null(s.tokenizer)},
                        {"name", or_null(s.name)}};
  if (with_tensors) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const gguf::TensorInfo& t : file.tensors()) {
      tensors.push_back({{"name", t.name},
                         {"type", type_name(t.type)},
                         {"ne", t.ne},
                         {"size_bytes", t.size_bytes},
                         {"offset", t.offset}});
    }
    out["tensors"] = std::move(tensors);
  }
  // Invalid UTF-8 in a name (a corrupt or odd file) is replaced rather than aborting the dump.
  fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

template <typename T>
std::string or_unset(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : std::string("(not set)");
}

void print_text(const gguf::GgufFile& file, const ModelSummary& s, bool with_tensors) {
  fmt::print("file            {} ({:.1f} MB, GGUF v{})\n", file.path(), s.file_size_bytes / 1e6,
             s.gguf_version);
  fmt::print("name            {}\n", or_unset(s.name));
  fmt::print("architecture    {}\n", s.architecture.empty() ? "(not set)" : s.architecture);
  fmt::print("layers          {}\n", or_unset(s.n_layers));
  fmt::print("hidden_dim      {}\n", or_unset(s.hidden_dim));
  fmt::print("heads           {} ({} kv heads, head_dim {})\n", or_unset(s.n_heads),
             or_unset(s.n_kv_heads), or_unset(s.head_dim));
  fmt::print("ffn_dim         {}\n", or_unset(s.ffn_dim));
  fmt::print("vocab_size      {} (tokenizer {})\n", or_unset(s.vocab_size), or_unset(s.tokenizer));
  fmt::print("context_length  {}\n", or_unset(s.context_length));
  fmt::print("rope_freq_base  {}\n", or_unset(s.rope_freq_base));
  fmt::print("parameters      {} ({:.2f} M)\n", s.n_params, s.n_params / 1e6);
  std::string types;
  for (const auto& [type, count] : s.tensor_types) types += fmt::format(", {} {}", type, count);
  fmt::print("tensors         {}{}\n", s.n_tensors, types.empty() ? "" : ":" + types.substr(1));
  if (!with_tensors) return;
  size_t width = 4;
  for (const gguf::TensorInfo& t : file.tensors()) width = std::max(width, t.name.size());
  fmt::print("\n{:<{}}  {:<5}  {:>20}  {:>12}  {:>12}\n", "name", width, "type", "shape", "bytes",
             "offset");
  for (const gguf::TensorInfo& t : file.tensors()) {
    fmt::print("{:<{}}  {:<5}  {:>20}  {:>12}  {:>12}\n", t.name, width, type_name(t.type),
               shape_of(t), t.size_bytes, t.offset);
  }
}

struct InspectFlags {
  std::string path;
  bool json = false;
  bool tensors = false;
};

// `model inspect` takes what `model list` shows (a catalog name, a pulled file's name) or a path.
Result<std::filesystem::path> inspect_path(const std::string& name_or_path) {
  CMDAI_ASSIGN_OR_RETURN(catalog::ResolvedModel resolved, catalog::resolve_model(name_or_path));
  if (!resolved.exists) {
    return make_error(ErrorCode::kNotFound,
                      "model {} is not downloaded yet ({} does not exist); run `cmdai model pull "
                      "{}`",
                      resolved.entry->name, resolved.path.string(), resolved.entry->name);
  }
  return resolved.path;
}

void run_inspect(const InspectFlags& flags, CliContext& context) {
  Result<std::filesystem::path> path = inspect_path(flags.path);
  if (!path.ok()) {
    fmt::print(stderr, "cmdai: error: {}\n", path.error().message);
    const bool not_pulled =
        path.error().code == ErrorCode::kNotFound && catalog::find_model(flags.path) != nullptr;
    context.exit_code = not_pulled ? kExitModelMissing : exit_code_for(path.error());
    return;
  }
  auto file = gguf::GgufFile::open(path->string());
  Result<ModelSummary> summary = file.ok() ? summarize(*file) : Result<ModelSummary>(file.error());
  if (!summary.ok()) {
    fmt::print(stderr, "cmdai: error: {}\n", summary.error().message);
    context.exit_code = exit_code_for(summary.error());
    return;
  }
  if (flags.json) {
    print_json(*file, *summary, flags.tensors);
  } else {
    print_text(*file, *summary, flags.tensors);
  }
}

void setup_model_inspect(CLI::App& app, CliContext& context) {
  static InspectFlags flags;
  CLI::App* model = subcommand(app, "model", "Manage and inspect models");
  CLI::App* inspect = model->add_subcommand(
      "inspect", "Show a GGUF model's architecture, shape, parameter count and tensor types");
  inspect
      ->add_option("model", flags.path, "Path to a .gguf file, or a name from `cmdai model list`")
      ->required();
  inspect->add_flag("--json", flags.json, "Print one JSON object instead of text");
  inspect->add_flag("--tensors", flags.tensors,
                    "Also list every tensor (name, type, shape, bytes, offset)");
  inspect->callback([&context] { run_inspect(flags, context); });
}

CMDAI_REGISTER_COMMAND(setup_model_inspect);

}  // namespace
}  // namespace cmdai::cli
