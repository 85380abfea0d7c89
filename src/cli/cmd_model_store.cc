// `cmdai model list | pull | path | rm`: the model cache (catalog models and pulled URLs).
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <nlohmann/json.hpp>
#include <system_error>

#include "catalog/catalog.h"
#include "catalog/download.h"
#include "catalog/paths.h"
#include "catalog/sha256.h"
#include "cli/command_registry.h"
#include "cli/download_progress.h"
#include "cli/exit_codes.h"
#include "cli/model_acquisition.h"
#include "config/config.h"

namespace cmdai::cli {
namespace {

void report(const Error& error, CliContext& context) {
  fmt::print(stderr, "cmdai: error: {}\n", error.message);
  context.exit_code = exit_code_for(error);
}

uint64_t size_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

bool is_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

std::filesystem::path with_suffix(const std::filesystem::path& path, const char* suffix) {
  std::filesystem::path result = path;
  result += suffix;
  return result;
}

// Ctrl-C during a pull stops the transfer cleanly (the .part stays for resuming) instead of
// killing the process mid-write.
std::atomic<bool> interrupted{false};
void on_interrupt(int) { interrupted.store(true); }

class InterruptGuard {
 public:
  InterruptGuard() {
    interrupted.store(false);
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }

 private:
  struct sigaction previous_ {};
};

// ---- list -------------------------------------------------------------------------------------

nlohmann::json entry_json(const catalog::ModelEntry& entry) {
  const std::filesystem::path path = catalog::cached_path(entry);
  return {{"name", entry.name},
          {"description", entry.description},
          {"url", entry.url},
          {"file", entry.file_name},
          {"size_bytes", entry.size_bytes},
          {"sha256", entry.sha256},
          {"default", entry.name == catalog::kDefaultModelName},
          {"catalog", true},
          {"cached", is_file(path)},
          {"path", path.string()},
          {"cached_size_bytes", size_or_zero(path)},
          {"partial_bytes", size_or_zero(with_suffix(path, ".part"))}};
}

bool has_gguf_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == ".gguf";
}

// .gguf files in the cache that no catalog entry names (pulled from a URL).
std::vector<std::filesystem::path> other_cached_files() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(catalog::models_dir(), ec)) {
    const std::filesystem::path& path = item.path();
    if (!has_gguf_extension(path) || !is_file(path)) continue;
    bool known = false;
    for (const catalog::ModelEntry& entry : catalog::known_models()) {
      known = known || entry.file_name == path.filename().string();
    }
    if (!known) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  return files;
}

void run_list(bool json, bool names, CliContext& context) {
  nlohmann::json models = nlohmann::json::array();
  for (const catalog::ModelEntry& entry : catalog::known_models())
    models.push_back(entry_json(entry));
  for (const std::filesystem::path& path : other_cached_files()) {
    const uint64_t size = size_or_zero(path);
    models.push_back({{"name", path.filename().string()},
                      {"description", "pulled from a URL"},
                      {"file", path.filename().string()},
                      {"size_bytes", size},
                      {"sha256", catalog::read_recorded_sha256(path)},
                      {"default", false},
                      {"catalog", false},
                      {"cached", true},
                      {"path", path.string()},
                      {"cached_size_bytes", size},
                      {"partial_bytes", 0}});
  }
  if (names) {
    for (const nlohmann::json& model : models) fmt::print("{}\n", model["name"].get<std::string>());
    return;
  }
  if (json) {
    nlohmann::json out = {{"models_dir", catalog::models_dir().string()},
                          {"default", catalog::kDefaultModelName},
                          {"models", models}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("  {:<28} {:>9}  {:<8} {}\n", "NAME", "SIZE", "CACHED", "DESCRIPTION");
  for (const nlohmann::json& model : models) {
    std::string cached = model["cached"].get<bool>() ? "yes" : "no";
    if (!model["cached"].get<bool>() && model["partial_bytes"].get<uint64_t>() > 0) {
      cached = "partial";
    }
    fmt::print("{} {:<28} {:>9}  {:<8} {}\n", model["default"].get<bool>() ? "*" : " ",
               model["name"].get<std::string>(), format_bytes(model["size_bytes"].get<uint64_t>()),
               cached, model["description"].get<std::string>());
  }
  fmt::print("\n* = default. Cache: {}\nDownload one with: cmdai model pull NAME\n",
             catalog::models_dir().string());
  (void)context;
}

// ---- pull -------------------------------------------------------------------------------------

struct PullTarget {
  std::string argument;  // as given: a catalog name or a URL
  std::string name;
  std::string url;
  std::filesystem::path dest;
  std::string sha256;  // empty = not known
  uint64_t size_hint_bytes = 0;
};

Result<PullTarget> pull_target(const std::string& name_or_url, const std::string& sha256_flag) {
  PullTarget target;
  if (const catalog::ModelEntry* entry = catalog::find_model(name_or_url)) {
    target = {.argument = name_or_url,
              .name = entry->name,
              .url = entry->url,
              .dest = catalog::cached_path(*entry),
              .sha256 = entry->sha256,
              .size_hint_bytes = entry->size_bytes};
  } else if (name_or_url.rfind("http://", 0) == 0 || name_or_url.rfind("https://", 0) == 0) {
    CMDAI_ASSIGN_OR_RETURN(std::string file_name, catalog::file_name_from_url(name_or_url));
    target = {.argument = name_or_url,
              .name = file_name,
              .url = name_or_url,
              .dest = catalog::models_dir() / file_name};
  } else {
    Result<catalog::ResolvedModel> resolved = catalog::resolve_model(name_or_url);
    if (!resolved.ok()) return resolved.take_error();
    return make_error(ErrorCode::kInvalidArgument,
                      "{} is a local file; only catalog names and http(s) URLs can be pulled",
                      name_or_url);
  }
  if (!sha256_flag.empty()) {
    if (!catalog::is_sha256_hex(sha256_flag)) {
      return make_error(ErrorCode::kInvalidArgument, "--sha256 '{}' is not 64 hex digits",
                        sha256_flag);
    }
    target.sha256 = sha256_flag;
  }
  return target;
}

// True when the file is already in place, a complete GGUF model, and matches the expected hash
// when one is known.
Result<bool> already_pulled(const PullTarget& target) {
  if (!is_file(target.dest)) return false;
  if (Status complete = check_gguf_file(target.dest); !complete.ok()) {
    return make_error(ErrorCode::kCorruptFile,
                      "{} is in the cache but is not a complete model: {}; run `cmdai model pull "
                      "{} --force` to download it again",
                      target.dest.string(), complete.error().message, target.argument);
  }
  if (target.sha256.empty()) return true;
  CMDAI_ASSIGN_OR_RETURN(std::string actual, catalog::sha256_file_hex(target.dest));
  if (catalog::sha256_equal(actual, target.sha256)) return true;
  return make_error(ErrorCode::kCorruptFile,
                    "{} exists but its sha256 is {}, not {}; run `cmdai model pull {} --force` "
                    "to download it again",
                    target.dest.string(), actual, target.sha256, target.argument);
}

void print_pulled(const PullTarget& target, const catalog::DownloadResult& result) {
  fmt::print("pulled {}: {} ({})\n", target.name, result.path.string(),
             format_bytes(result.size_bytes));
  fmt::print("sha256 {} ({})\n", result.sha256, result.verified ? "verified" : "not verified");
  if (!result.verified) {
    fmt::print(stderr,
               "note: no published sha256 is known for {}; the computed one is recorded in {}. "
               "Compare it with the model page, or pass --sha256 HEX to verify.\n",
               target.name, catalog::recorded_sha256_path(result.path).string());
  }
}

void run_pull(const std::string& name_or_url, const std::string& sha256_flag, bool force,
              CliContext& context) {
  Result<PullTarget> target = pull_target(name_or_url, sha256_flag);
  if (!target.ok()) return report(target.error(), context);
  // --force downloads next to the old file, which stays until the new one is verified.
  if (!force) {
    Result<bool> present = already_pulled(*target);
    if (!present.ok()) return report(present.error(), context);
    if (*present) {
      fmt::print("{} is already downloaded: {}\n", target->name, target->dest.string());
      return;
    }
  }
  catalog::DownloadOptions options;
  options.url = target->url;
  options.dest = target->dest;
  options.expected_sha256 = target->sha256;
  options.size_hint_bytes = target->size_hint_bytes;
  options.model_name = catalog::find_model(name_or_url) != nullptr ? target->name : name_or_url;
  ProgressBar bar;
  options.on_progress = [&bar](const catalog::DownloadProgress& p) { bar.update(p); };
  InterruptGuard guard;
  options.cancel = &interrupted;
  add_gguf_checks(options);
  if (context.verbose)
    fmt::print(stderr, "downloading {} to {}\n", target->url, target->dest.string());
  Result<catalog::DownloadResult> result = catalog::download_file(options);
  bar.finish();
  if (!result.ok()) return report(result.error(), context);
  print_pulled(*target, *result);
}

// ---- path, rm ---------------------------------------------------------------------------------

void run_path(const std::string& name, CliContext& context) {
  std::string wanted = name;
  if (wanted.empty()) {
    Result<config::Config> config = config::load_config();
    if (!config.ok()) return report(config.error(), context);
    wanted = config->model;
  }
  Result<catalog::ResolvedModel> resolved = catalog::resolve_model(wanted);
  if (!resolved.ok()) return report(resolved.error(), context);
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(resolved->path, ec);
  fmt::print("{}\n", (ec ? resolved->path : absolute).string());
  if (!resolved->exists && resolved->entry != nullptr) {
    fmt::print(stderr, "note: not downloaded yet; run `cmdai model pull {}`\n",
               resolved->entry->name);
  }
}

void run_rm(const std::string& name, CliContext& context) {
  std::filesystem::path file;
  if (const catalog::ModelEntry* entry = catalog::find_model(name)) {
    file = catalog::cached_path(*entry);
  } else if (!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..") {
    file = catalog::models_dir() / name;  // a file pulled from a URL, by its file name
  } else {
    return report(make_error(ErrorCode::kInvalidArgument,
                             "'{}' is not a model name; `cmdai model rm` only removes models from "
                             "the cache ({})",
                             name, catalog::models_dir().string()),
                  context);
  }
  bool removed_any = false;
  for (const char* suffix : {"", ".sha256", ".part"}) {
    std::error_code ec;
    const std::filesystem::path path = with_suffix(file, suffix);
    if (std::filesystem::remove(path, ec)) {
      removed_any = true;
      fmt::print("removed {}\n", path.string());
    } else if (ec) {
      return report(make_error(ErrorCode::kIo, "cannot remove {}: {}", path.string(), ec.message()),
                    context);
    }
  }
  if (!removed_any) {
    report(make_error(ErrorCode::kNotFound, "{} is not in the cache ({} does not exist)", name,
                      file.string()),
           context);
  }
}

void setup_model_store(CLI::App& app, CliContext& context) {
  CLI::App* model = subcommand(app, "model", "Manage and inspect models");

  static bool list_json = false;
  CLI::App* list = model->add_subcommand("list", "Known models and which are downloaded");
  static bool list_names = false;
  list->add_flag("--json", list_json, "print one JSON object");
  list->add_flag("--names", list_names, "print only the names, one a line (for scripts)");
  list->callback([&context] { run_list(list_json, list_names, context); });

  static std::string pull_name;
  static std::string pull_sha256;
  static bool pull_force = false;
  CLI::App* pull = model->add_subcommand(
      "pull", "Download a model into the cache (resumable; Ctrl-C keeps the partial file)");
  pull->add_option("model", pull_name, "catalog name (see `cmdai model list`) or an http(s) URL")
      ->required();
  pull->add_option("--sha256", pull_sha256,
                   "expected sha256 of the file (hex); verified after download");
  pull->add_flag("--force", pull_force,
                 "download again even if the file is already there (it stays until the new one "
                 "is verified)");
  pull->callback([&context] { run_pull(pull_name, pull_sha256, pull_force, context); });

  static std::string path_name;
  CLI::App* path = model->add_subcommand("path", "Print the file path of a model");
  path->add_option("model", path_name, "catalog name or .gguf path; default: the configured model");
  path->callback([&context] { run_path(path_name, context); });

  static std::string rm_name;
  CLI::App* rm = model->add_subcommand("rm", "Delete a downloaded model from the cache");
  rm->add_option("model", rm_name, "catalog name, or the file name of a model pulled from a URL")
      ->required();
  rm->callback([&context] { run_rm(rm_name, context); });
}

CMDAI_REGISTER_COMMAND(setup_model_store);

}  // namespace
}  // namespace cmdai::cli
