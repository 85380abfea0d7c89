#include "cli/model_acquisition.h"

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "catalog/download.h"
#include "cli/download_progress.h"
#include "cli/terminal.h"
#include "gguf/gguf_file.h"

namespace cmdai::cli {

// The first four bytes of every GGUF file (gguf_file.cc reads them as the u32 0x46554747).
constexpr char kGgufMagic[] = "GGUF";

Status check_gguf_file(const std::filesystem::path& path) {
  Result<gguf::GgufFile> file = gguf::GgufFile::open(path.string());
  if (!file.ok()) return file.take_error();
  return ok_status();
}

void add_gguf_checks(catalog::DownloadOptions& options) {
  options.magic = kGgufMagic;
  options.format_name = "GGUF model";
  options.check_file = check_gguf_file;
}

namespace {

// A first use downloads about a gigabyte: only after a yes on the terminal. Without a terminal
// nobody can answer, so nothing is downloaded and the error says how to get the model.
Status agree_to_download(const catalog::ModelEntry& entry, const std::filesystem::path& dir,
                         bool may_download) {
  const std::string size = format_bytes(entry.size_bytes);
  if (!may_download) {
    return make_error(ErrorCode::kNotFound,
                      "model {} is not downloaded yet ({}, about {}); run `cmdai model pull {}` "
                      "to use it",
                      entry.name, entry.file_name, size, entry.name);
  }
  if (!can_ask_on_terminal()) {
    return make_error(ErrorCode::kNotFound,
                      "model {} is not downloaded yet ({}, about {} from huggingface.co, into "
                      "{}), and with no terminal to ask, cmdai does not download it. Run `cmdai "
                      "model pull {}` once, or use a GGUF file you have: cmdai --model "
                      "/path/to/model.gguf",
                      entry.name, entry.file_name, size, dir.string(), entry.name);
  }
  const std::string question = fmt::format(
      "cmdai: model {} is not downloaded yet. Download {} (about {} from "
      "huggingface.co) into {}?",
      entry.name, entry.file_name, size, dir.string());
  if (ask_yes_no(question)) return ok_status();
  return make_error(ErrorCode::kCancelled,
                    "not downloaded; run `cmdai model pull {}` when you want it, or use a GGUF "
                    "file you have: cmdai --model /path/to/model.gguf",
                    entry.name);
}

}  // namespace

Result<AcquiredModel> acquire_model(const std::string& name_or_path,
                                    const std::atomic<bool>* cancel, bool may_download) {
  CMDAI_ASSIGN_OR_RETURN(catalog::ResolvedModel resolved, catalog::resolve_model(name_or_path));
  AcquiredModel out;
  out.path = resolved.path;
  out.name = resolved.entry != nullptr ? resolved.entry->name : resolved.path.filename().string();
  if (resolved.exists) return out;
  if (resolved.entry == nullptr) {
    return make_error(ErrorCode::kNotFound, "model file '{}' does not exist",
                      resolved.path.string());
  }
  const catalog::ModelEntry& entry = *resolved.entry;
  CMDAI_TRY(agree_to_download(entry, resolved.path.parent_path(), may_download));
  ProgressBar bar;
  catalog::DownloadOptions options;
  options.url = entry.url;
  options.dest = resolved.path;
  options.expected_sha256 = entry.sha256;
  options.size_hint_bytes = entry.size_bytes;
  options.model_name = entry.name;
  options.cancel = cancel;
  options.on_progress = [&bar](const catalog::DownloadProgress& p) { bar.update(p); };
  add_gguf_checks(options);
  auto result = catalog::download_file(options);
  bar.finish();
  if (!result.ok()) {
    const Error& e = result.error();
    if (e.code == ErrorCode::kCancelled || e.code == ErrorCode::kResourceExhausted) return e;
    // The downloader's message names the model, the cache path and the way out when offline.
    if (e.message.find("--model") != std::string::npos)
      return Error{ErrorCode::kNotFound, e.message};
    return make_error(
        ErrorCode::kNotFound,
        "cannot fetch the model {} into {}: {}. Connect to the network and run `cmdai "
        "model pull {}`, or use a GGUF file you have: cmdai --model /path/to/model.gguf",
        entry.name, resolved.path.string(), e.message, entry.name);
  }
  catalog::write_recorded_sha256(resolved.path, result->sha256).ok();
  return out;
}

}  // namespace cmdai::cli
