// Resumable, verified HTTP(S) downloads into the model cache (libcurl, loaded on the first
// download: see curl_library.h). Proxies come from the usual http_proxy / https_proxy / no_proxy
// environment variables, as libcurl reads them.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/result.h"

namespace cmdai::catalog {

struct DownloadProgress {
  uint64_t done_bytes = 0;   // bytes in the destination, reused bytes of a resumed .part included
  uint64_t total_bytes = 0;  // 0 while unknown
  double bytes_per_second = 0;
};

using ProgressCallback = std::function<void(const DownloadProgress&)>;
// Free bytes available to an unprivileged writer in `dir`; injectable so tests can fake a full
// disk.
using FreeSpaceFunction = std::function<Result<uint64_t>(const std::filesystem::path& dir)>;

struct DownloadOptions {
  std::string url;
  std::filesystem::path dest;    // final file; the transfer goes to <dest>.part first
  std::string expected_sha256;   // hex; empty = compute, record, do not verify
  uint64_t size_hint_bytes = 0;  // for the free-space check when there is no Content-Length
  std::string model_name;        // for messages; the file name of `dest` when empty
  long connect_timeout_ms = 15000;
  long low_speed_bytes_per_s = 1024;  // abort when slower than this ...
  long low_speed_time_s = 30;         // ... for this long
  int max_attempts = 3;               // a dropped connection resumes automatically this many times
  ProgressCallback on_progress;       // called from the transfer thread, often; keep it cheap
  const std::atomic<bool>* cancel = nullptr;  // true = stop, keep the .part for resuming
  FreeSpaceFunction free_space;               // nullptr = statvfs
  // The bytes every good file starts with ("GGUF"), checked as the body's first bytes arrive:
  // anything else (an HTML error or login page) stops the download at once, before it is written,
  // and a .part that starts otherwise is discarded instead of resumed. Empty = not checked.
  std::string magic;
  std::string format_name = "file";  // what the file is, for messages: "GGUF model"
  // Checks the complete <dest>.part (after the sha256) before it replaces <dest>, so a transfer
  // that ended early without the server saying so is never installed. An error deletes the .part
  // and fails the download with the error's code. nullptr = no check.
  std::function<Status(const std::filesystem::path& part)> check_file;
  // The libcurl to dlopen (a soname or path); empty = libcurl.so.4. Tests name a missing one.
  std::string curl_library;
};

struct DownloadResult {
  std::filesystem::path path;
  std::string sha256;  // lowercase hex of the whole file
  uint64_t size_bytes = 0;
  bool verified = false;            // matched DownloadOptions::expected_sha256
  uint64_t resumed_from_bytes = 0;  // bytes of an earlier .part reused by the first attempt
};

// Downloads options.url to options.dest: writes <dest>.part (resuming it with a Range request when
// one exists; restarting when the server ignores Range), verifies the hash when one is expected,
// runs check_file, fsyncs, renames into place (an old <dest> stays until then) and records the
// hash in <dest>.sha256. Errors:
//   kNetwork: unreachable host, HTTP status >= 400, stalled or dropped transfer (.part kept);
//             libcurl cannot be loaded (nothing written; the message names the package libcurl4)
//   kCorruptFile: sha256 mismatch, a body without the magic (.part deleted)
//   check_file's code: the complete file failed check_file (.part deleted)
//   kResourceExhausted: not enough free disk space (checked before writing) or ENOSPC
//   kCancelled: options.cancel became true (.part kept)
//   kIo: the cache directory or file cannot be written
Result<DownloadResult> download_file(const DownloadOptions& options);

// statvfs: bytes available to unprivileged users on the file system holding `dir`.
Result<uint64_t> free_disk_bytes(const std::filesystem::path& dir);

}  // namespace cmdai::catalog
