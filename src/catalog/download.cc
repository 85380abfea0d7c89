#include "catalog/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/mapped_file.h"
#include "catalog/catalog.h"
#include "catalog/curl_library.h"
#include "catalog/sha256.h"

namespace cmdai::catalog {
namespace {

std::string errno_text(int error_number) { return std::strerror(error_number); }

std::filesystem::path part_path_for(const std::filesystem::path& dest) {
  std::filesystem::path part = dest;
  part += ".part";
  return part;
}

std::string display_name(const DownloadOptions& options) {
  return options.model_name.empty() ? options.dest.filename().string() : options.model_name;
}

// "Content-Range: bytes 100-199/200" -> 100.
std::optional<uint64_t> parse_content_range_start(std::string_view line) {
  constexpr std::string_view kName = "content-range:";
  if (line.size() < kName.size()) return std::nullopt;
  for (size_t i = 0; i < kName.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) return std::nullopt;
  }
  const size_t bytes = line.find("bytes", kName.size());
  if (bytes == std::string_view::npos) return std::nullopt;
  size_t pos = bytes + 5;
  while (pos < line.size() && line[pos] == ' ') ++pos;
  uint64_t start = 0;
  bool any_digit = false;
  while (pos < line.size() && std::isdigit(static_cast<unsigned char>(line[pos]))) {
    start = start * 10 + static_cast<uint64_t>(line[pos] - '0');
    any_digit = true;
    ++pos;
  }
  if (!any_digit) return std::nullopt;
  return start;
}

// The first bytes of an unexpected answer, printable, for the error message.
std::string printable_start(const char* data, size_t size_bytes) {
  std::string text;
  for (size_t i = 0; i < size_bytes && i < 48; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    text += std::isprint(c) ? static_cast<char>(c) : '.';
  }
  return text;
}

Status fsync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorCode::kIo, "cannot open {}: {}", dir.string(), errno_text(errno));
  ::fsync(fd);
  ::close(fd);
  return ok_status();
}

// One .part file, opened and locked for the whole download, written by one or more attempts.
class Transfer {
 public:
  Transfer(const DownloadOptions& options, const CurlLibrary& libcurl)
      : options_(options), libcurl_(libcurl), part_path_(part_path_for(options.dest)) {}
  ~Transfer() {
    if (fd_ >= 0) ::close(fd_);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  Status open_part();
  // One HTTP request that continues the .part from its current size.
  Status attempt(bool& retryable);
  Result<DownloadResult> finish();
  uint64_t first_offset() const { return first_offset_; }
  void discard_if_empty() {
    if (fd_ >= 0 && written_ == 0) ::unlink(part_path_.c_str());
  }

 private:
  static size_t on_header(char* data, size_t size, size_t count, void* self);
  static size_t on_body(char* data, size_t size, size_t count, void* self);
  static int on_progress(void* self, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t);

  Status prepare_attempt();
  Status begin_body();
  Status restart_from_zero();
  Status check_free_space();
  Status check_magic(const char* data, size_t size_bytes);
  Status discard_part_without_magic();
  Status write_chunk(const char* data, size_t size_bytes);
  Error error_for(CURLcode code, bool& retryable) const;
  void configure(CURL* curl);

  const DownloadOptions& options_;
  const CurlLibrary& libcurl_;
  std::filesystem::path part_path_;
  int fd_ = -1;
  CURL* curl_ = nullptr;
  Sha256 hash_;
  uint64_t first_offset_ = 0;  // .part size before the first attempt
  uint64_t offset_ = 0;        // .part size when this attempt's body started
  uint64_t written_ = 0;       // .part size now
  long status_ = 0;
  std::optional<uint64_t> content_range_start_;
  bool body_started_ = false;
  bool restarted_ = false;  // this attempt dropped the .part (416, or a 206 from another offset)
  bool cancelled_ = false;
  std::optional<Error> callback_error_;  // why a callback aborted the transfer
  std::string range_;  // the Range request of this attempt; curl keeps only the pointer
  char curl_message_[CURL_ERROR_SIZE] = {};
};

Status Transfer::open_part() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dest.parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : options_.dest.parent_path(),
                                      ec);
  if (ec) {
    return make_error(ErrorCode::kIo, "cannot create the model directory {}: {}",
                      options_.dest.parent_path().string(), ec.message());
  }
  fd_ = ::open(part_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return make_error(ErrorCode::kIo, "cannot open {} for writing: {}", part_path_.string(),
                      errno_text(errno));
  }
  // Two `cmdai model pull` runs writing the same .part would interleave bytes.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    return make_error(ErrorCode::kIo, "another cmdai process is downloading into {}; wait for it",
                      part_path_.string());
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    return make_error(ErrorCode::kIo, "cannot stat {}: {}", part_path_.string(), errno_text(errno));
  }
  first_offset_ = static_cast<uint64_t>(info.st_size);
  CMDAI_TRY(discard_part_without_magic());
  return ok_status();
}

// A .part that does not start like the format (an HTML page saved by an older cmdai, another
// file) would only be completed into garbage by a Range request.
Status Transfer::discard_part_without_magic() {
  const std::string& magic = options_.magic;
  if (magic.empty() || first_offset_ == 0) return ok_status();
  const size_t length = static_cast<size_t>(std::min<uint64_t>(first_offset_, magic.size()));
  std::string start(length, '\0');
  if (::pread(fd_, start.data(), length, 0) != static_cast<ssize_t>(length) ||
      start != magic.substr(0, length)) {
    CMDAI_TRY(restart_from_zero());
    first_offset_ = 0;
  }
  return ok_status();
}

// Re-hashes what the .part already holds so the final digest covers the whole file.
Status Transfer::prepare_attempt() {
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    return make_error(ErrorCode::kIo, "cannot stat {}: {}", part_path_.string(), errno_text(errno));
  }
  offset_ = static_cast<uint64_t>(info.st_size);
  written_ = offset_;
  hash_.reset();
  std::vector<char> buffer(1 << 20);
  uint64_t hashed = 0;
  while (hashed < offset_) {
    const ssize_t got = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(hashed));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return make_error(ErrorCode::kIo, "cannot read back {}: {}", part_path_.string(),
                        got == 0 ? "unexpected end of file" : errno_text(errno));
    }
    hash_.update(buffer.data(), static_cast<size_t>(got));
    hashed += static_cast<uint64_t>(got);
  }
  status_ = 0;
  content_range_start_.reset();
  body_started_ = false;
  restarted_ = false;
  callback_error_.reset();
  return ok_status();
}

Status Transfer::restart_from_zero() {
  if (::ftruncate(fd_, 0) != 0) {
    return make_error(ErrorCode::kIo, "cannot truncate {}: {}", part_path_.string(),
                      errno_text(errno));
  }
  offset_ = 0;
  written_ = 0;
  hash_.reset();
  return ok_status();
}

Status Transfer::check_free_space() {
  curl_off_t content_length = -1;
  libcurl_.easy_getinfo(curl_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &content_length);
  uint64_t needed = 0;
  if (content_length >= 0) {
    needed = static_cast<uint64_t>(content_length);
  } else if (options_.size_hint_bytes > written_) {
    needed = options_.size_hint_bytes - written_;
  }
  if (needed == 0) return ok_status();
  const std::filesystem::path dir =
      part_path_.parent_path().empty() ? std::filesystem::path(".") : part_path_.parent_path();
  Result<uint64_t> free_bytes =
      options_.free_space ? options_.free_space(dir) : free_disk_bytes(dir);
  if (!free_bytes.ok()) return free_bytes.take_error();
  if (*free_bytes < needed) {
    return make_error(ErrorCode::kResourceExhausted,
                      "not enough disk space for {} in {}: need {} bytes, {} bytes free; free some "
                      "space or set CMDAI_CACHE_DIR to a larger disk",
                      display_name(options_), dir.string(), needed, *free_bytes);
  }
  return ok_status();
}

// Runs once per response, when its first body byte (or its end, for an empty body) arrives.
Status Transfer::begin_body() {
  body_started_ = true;
  libcurl_.easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status_);
  const uint64_t requested_offset = offset_;
  if (status_ == 416 && requested_offset > 0) {
    // The .part is as long as the file or longer; start over rather than trust it.
    CMDAI_TRY(restart_from_zero());
    restarted_ = true;
    return make_error(ErrorCode::kNetwork, "{} refused to resume at byte {} (HTTP 416)",
                      options_.url, requested_offset);
  }
  if (status_ < 200 || status_ >= 300) {
    return make_error(ErrorCode::kNetwork, "download of {} failed: HTTP status {}", options_.url,
                      status_);
  }
  if (status_ == 206) {
    if (content_range_start_.value_or(0) != offset_) {
      CMDAI_TRY(restart_from_zero());
      restarted_ = true;
      return make_error(ErrorCode::kNetwork,
                        "{} resumed at byte {} instead of {}; the partial file was discarded",
                        options_.url, content_range_start_.value_or(0), requested_offset);
    }
  } else if (offset_ > 0) {
    CMDAI_TRY(restart_from_zero());  // the server ignored Range and sends the whole file
  }
  if (::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET) < 0) {
    return make_error(ErrorCode::kIo, "cannot seek in {}: {}", part_path_.string(),
                      errno_text(errno));
  }
  return check_free_space();
}

// Runs before the bytes at file offsets below magic.size() are written.
Status Transfer::check_magic(const char* data, size_t size_bytes) {
  const std::string& magic = options_.magic;
  if (written_ >= magic.size()) return ok_status();
  const size_t length = std::min<size_t>(size_bytes, magic.size() - written_);
  if (std::memcmp(data, magic.data() + written_, length) == 0) return ok_status();
  CMDAI_TRY(restart_from_zero());  // nothing of this answer is worth resuming
  return make_error(
      ErrorCode::kCorruptFile,
      "{} did not send a {}: the answer starts with \"{}\" (an error or login page?); "
      "check the URL and your proxy. Nothing was kept",
      options_.url, options_.format_name, printable_start(data, size_bytes));
}

Status Transfer::write_chunk(const char* data, size_t size_bytes) {
  size_t done = 0;
  while (done < size_bytes) {
    const ssize_t wrote = ::write(fd_, data + done, size_bytes - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && (errno == ENOSPC || errno == EDQUOT)) {
      return make_error(ErrorCode::kResourceExhausted,
                        "disk full while writing {} ({} bytes written); free some space and run "
                        "the same command again to resume",
                        part_path_.string(), written_ + done);
    }
    if (wrote <= 0) {
      return make_error(ErrorCode::kIo, "cannot write {}: {}", part_path_.string(),
                        errno_text(errno));
    }
    done += static_cast<size_t>(wrote);
  }
  hash_.update(data, size_bytes);
  written_ += size_bytes;
  return ok_status();
}

size_t Transfer::on_header(char* data, size_t size, size_t count, void* self) {
  auto* transfer = static_cast<Transfer*>(self);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->content_range_start_.reset();  // a new response (e.g. after a redirect)
  } else if (auto start = parse_content_range_start(line)) {
    transfer->content_range_start_ = start;
  }
  return size * count;
}

size_t Transfer::on_body(char* data, size_t size, size_t count, void* self) {
  auto* transfer = static_cast<Transfer*>(self);
  if (!transfer->body_started_) {
    if (Status started = transfer->begin_body(); !started.ok()) {
      transfer->callback_error_ = started.take_error();
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
  }
  if (Status magic = transfer->check_magic(data, size * count); !magic.ok()) {
    transfer->callback_error_ = magic.take_error();
    return 0;
  }
  if (Status wrote = transfer->write_chunk(data, size * count); !wrote.ok()) {
    transfer->callback_error_ = wrote.take_error();
    return 0;
  }
  return size * count;
}

int Transfer::on_progress(void* self, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(self);
  const DownloadOptions& options = transfer->options_;
  if (options.cancel != nullptr && options.cancel->load()) {
    transfer->cancelled_ = true;
    return 1;
  }
  if (options.on_progress) {
    DownloadProgress progress;
    progress.done_bytes = transfer->written_;
    if (transfer->body_started_ && total > 0) {
      progress.total_bytes = transfer->offset_ + static_cast<uint64_t>(total);
    }
    curl_off_t speed = 0;
    transfer->libcurl_.easy_getinfo(transfer->curl_, CURLINFO_SPEED_DOWNLOAD_T, &speed);
    progress.bytes_per_second = static_cast<double>(speed);
    options.on_progress(progress);
  }
  (void)now;
  return 0;
}

void Transfer::configure(CURL* curl) {
  libcurl_.easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  // Proxy settings are left to libcurl, which reads http_proxy, https_proxy and no_proxy.
  libcurl_.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  libcurl_.easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  libcurl_.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);  // Hugging Face redirects to its CDN
  libcurl_.easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  libcurl_.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  libcurl_.easy_setopt(curl, CURLOPT_USERAGENT, "cmdai");
  libcurl_.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  libcurl_.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes_per_s);
  libcurl_.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
  libcurl_.easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_message_);
  libcurl_.easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  libcurl_.easy_setopt(curl, CURLOPT_HEADERDATA, this);
  libcurl_.easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  libcurl_.easy_setopt(curl, CURLOPT_WRITEDATA, this);
  libcurl_.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  libcurl_.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::on_progress);
  libcurl_.easy_setopt(curl, CURLOPT_XFERINFODATA, this);
  if (offset_ > 0) {
    // CURLOPT_RANGE rather than RESUME_FROM: the latter fails outright when the server answers
    // 200, and begin_body() handles that case by starting over.
    range_ = std::to_string(offset_) + "-";
    libcurl_.easy_setopt(curl, CURLOPT_RANGE, range_.c_str());
  }
}

Error Transfer::error_for(CURLcode code, bool& retryable) const {
  const std::string name = display_name(options_);
  const std::string detail =
      curl_message_[0] != '\0' ? curl_message_ : libcurl_.easy_strerror(code);
  retryable = false;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return make_error(ErrorCode::kNetwork,
                        "cannot reach {} to download model '{}' into {} ({}). If you are "
                        "offline, use a model file you have: cmdai --model /path/to/model.gguf; "
                        "or run `cmdai model pull {}` when online",
                        options_.url, name, options_.dest.string(), detail, name);
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(ErrorCode::kNetwork,
                        "download of {} stalled ({}; limits: connect {} ms, at least {} bytes/s "
                        "over {} s); {} bytes are kept in {}, run again to resume",
                        options_.url, detail, options_.connect_timeout_ms,
                        options_.low_speed_bytes_per_s, options_.low_speed_time_s, written_,
                        part_path_.string());
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      retryable = written_ > offset_;  // only retry when the connection made progress
      return make_error(ErrorCode::kNetwork,
                        "download of {} was interrupted ({}); {} bytes are kept in {}, run again "
                        "to resume",
                        options_.url, detail, written_, part_path_.string());
    default:
      return make_error(ErrorCode::kNetwork, "download of {} failed: {}", options_.url, detail);
  }
}

Status Transfer::attempt(bool& retryable) {
  retryable = false;
  CMDAI_TRY(prepare_attempt());
  curl_ = libcurl_.easy_init();
  if (curl_ == nullptr) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  curl_message_[0] = '\0';
  configure(curl_);
  const CURLcode code = libcurl_.easy_perform(curl_);
  Status outcome;
  if (cancelled_) {
    outcome = make_error(ErrorCode::kCancelled,
                         "download of {} cancelled; {} bytes are kept in {}, run the same "
                         "command again to resume",
                         display_name(options_), written_, part_path_.string());
  } else if (callback_error_) {
    outcome = *callback_error_;
  } else if (code != CURLE_OK) {
    outcome = error_for(code, retryable);
  } else if (!body_started_) {
    outcome = begin_body();  // an empty body (a 416 has one) still has a status to check
  }
  if (!outcome.ok() && restarted_ && !cancelled_) retryable = true;  // it starts from byte 0
  libcurl_.easy_cleanup(curl_);
  curl_ = nullptr;
  return outcome;
}

Result<DownloadResult> Transfer::finish() {
  if (::fsync(fd_) != 0) {
    return make_error(ErrorCode::kIo, "cannot flush {} to disk: {}", part_path_.string(),
                      errno_text(errno));
  }
  DownloadResult result;
  result.path = options_.dest;
  result.sha256 = hash_.finish_hex();
  result.size_bytes = written_;
  result.resumed_from_bytes = first_offset_;
  if (!options_.expected_sha256.empty()) {
    if (!sha256_equal(options_.expected_sha256, result.sha256)) {
      ::unlink(part_path_.c_str());
      return make_error(ErrorCode::kCorruptFile,
                        "sha256 mismatch for {} from {}: expected {}, got {}; the download was "
                        "deleted, run again to retry",
                        display_name(options_), options_.url, options_.expected_sha256,
                        result.sha256);
    }
    result.verified = true;
  }
  if (options_.check_file) {
    if (Status checked = options_.check_file(part_path_); !checked.ok()) {
      ::unlink(part_path_.c_str());
      return make_error(checked.error().code,
                        "the file downloaded from {} is not a complete {}: {}; it was deleted, "
                        "run again to retry",
                        options_.url, options_.format_name, checked.error().message);
    }
  }
  release_written_pages(fd_, static_cast<size_t>(written_));
  if (::rename(part_path_.c_str(), options_.dest.c_str()) != 0) {
    return make_error(ErrorCode::kIo, "cannot move {} to {}: {}", part_path_.string(),
                      options_.dest.string(), errno_text(errno));
  }
  const std::filesystem::path dir = options_.dest.parent_path();
  CMDAI_TRY(fsync_directory(dir.empty() ? std::filesystem::path(".") : dir));
  CMDAI_TRY(write_recorded_sha256(options_.dest, result.sha256));
  return result;
}

}  // namespace

Result<uint64_t> free_disk_bytes(const std::filesystem::path& dir) {
  struct statvfs info {};
  if (::statvfs(dir.c_str(), &info) != 0) {
    return make_error(ErrorCode::kIo, "cannot read free space of {}: {}", dir.string(),
                      errno_text(errno));
  }
  return static_cast<uint64_t>(info.f_bavail) * static_cast<uint64_t>(info.f_frsize);
}

Result<DownloadResult> download_file(const DownloadOptions& options) {
  if (options.url.empty() || options.dest.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "download needs a URL and a destination");
  }
  if (!options.expected_sha256.empty() && !is_sha256_hex(options.expected_sha256)) {
    return make_error(ErrorCode::kInvalidArgument, "'{}' is not a sha256 (64 hex digits)",
                      options.expected_sha256);
  }
  Result<const CurlLibrary*> libcurl =
      load_curl_library(options.curl_library.empty() ? kCurlLibraryName : options.curl_library);
  if (!libcurl.ok()) {
    return make_error(ErrorCode::kNetwork, "cannot download {} from {}: {}", display_name(options),
                      options.url, libcurl.error().message);
  }
  Transfer transfer(options, **libcurl);
  CMDAI_TRY(transfer.open_part());
  const int attempts = options.max_attempts < 1 ? 1 : options.max_attempts;
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    Status status = transfer.attempt(retryable);
    if (status.ok()) break;
    if (!retryable || attempt >= attempts) {
      transfer.discard_if_empty();  // nothing to resume: leave no empty .part behind
      return status.take_error();
    }
  }
  return transfer.finish();
}

}  // namespace cmdai::catalog
