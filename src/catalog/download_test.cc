// Downloads against a real HTTP server (cpp-httplib) that the test runs on 127.0.0.1.
#include "catalog/download.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/sha256.h"
#include "catalog/test_http_server.h"

namespace cmdai::catalog {
namespace {

constexpr size_t kBodyBytes = 300'000;
constexpr size_t kCutBytes = 100'000;  // where the flaky route drops the connection

std::string make_body() {
  std::mt19937 random(1234);
  std::string body(kBodyBytes, '\0');
  for (char& c : body) c = static_cast<char>(random() & 0xff);
  return body;
}

std::string sha256_of(const std::string& data) {
  Sha256 hash;
  hash.update(data.data(), data.size());
  return hash.finish_hex();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Routes:
//   /model.gguf    the body, with Range support (206)
//   /flaky.gguf    first request: Content-Length of the whole body, then closes after kCutBytes;
//                  later requests: like /model.gguf
//   /norange.gguf  always the whole body with status 200 (chunked: no Content-Length)
//   /slow.gguf     10 bytes every 50 ms
//   anything else  404
class LoopbackServer {
 public:
  explicit LoopbackServer(std::string body) : body_(std::move(body)) {
    server_.Get("/model.gguf",
                [this](const httplib::Request& request, httplib::Response& response) {
                  remember(request);
                  response.set_content(body_, "application/octet-stream");
                });
    server_.Get(
        "/flaky.gguf", [this](const httplib::Request& request, httplib::Response& response) {
          remember(request);
          if (flaky_requests_++ > 0) {
            response.set_content(body_, "application/octet-stream");
            return;
          }
          response.set_content_provider(body_.size(), "application/octet-stream",
                                        [this](size_t offset, size_t, httplib::DataSink& sink) {
                                          if (offset >= kCutBytes)
                                            return false;  // drop the connection mid-body
                                          sink.write(body_.data() + offset, kCutBytes - offset);
                                          return true;
                                        });
        });
    server_.Get("/norange.gguf",
                [this](const httplib::Request& request, httplib::Response& response) {
                  remember(request);
                  response.status = 200;
                  response.set_chunked_content_provider("application/octet-stream",
                                                        [this](size_t, httplib::DataSink& sink) {
                                                          sink.write(body_.data(), body_.size());
                                                          sink.done();
                                                          return true;
                                                        });
                });
    server_.Get("/slow.gguf", [this](const httplib::Request& request, httplib::Response& response) {
      remember(request);
      response.set_content_provider(body_.size(), "application/octet-stream",
                                    [this](size_t offset, size_t, httplib::DataSink& sink) {
                                      if (stopping_) return false;
                                      std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                      return sink.write(body_.data() + offset, 10);
                                    });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  ~LoopbackServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::vector<std::string> range_headers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return range_headers_;
  }

 private:
  void remember(const httplib::Request& request) {
    std::lock_guard<std::mutex> lock(mutex_);
    range_headers_.push_back(request.get_header_value("Range"));
  }

  std::string body_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> flaky_requests_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::string> range_headers_;  // "" for requests without Range
};

class DownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cmdai-download-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DownloadOptions options_for(const std::string& path) {
    DownloadOptions options;
    options.url = server_.url(path);
    options.dest = dest();
    options.model_name = "test-model";
    options.connect_timeout_ms = 2000;
    options.low_speed_bytes_per_s = 1000;
    options.low_speed_time_s = 1;
    options.max_attempts = 1;
    return options;
  }

  std::filesystem::path dest() const { return dir_ / "models" / "m.gguf"; }
  std::filesystem::path part() const { return dir_ / "models" / "m.gguf.part"; }

  const std::string body_ = make_body();
  LoopbackServer server_{body_};
  std::filesystem::path dir_;
};

TEST_F(DownloadTest, FullDownloadVerifiesTheHashAndRecordsIt) {
  DownloadOptions options = options_for("/model.gguf");
  options.expected_sha256 = sha256_of(body_);
  std::vector<DownloadProgress> progress;
  options.on_progress = [&](const DownloadProgress& p) { progress.push_back(p); };
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_TRUE(result->verified);
  EXPECT_EQ(result->sha256, sha256_of(body_));
  EXPECT_EQ(result->size_bytes, kBodyBytes);
  EXPECT_EQ(read_file(dest()), body_);
  EXPECT_FALSE(std::filesystem::exists(part()));
  EXPECT_EQ(read_recorded_sha256(dest()), sha256_of(body_));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().done_bytes, kBodyBytes);
  EXPECT_EQ(progress.back().total_bytes, kBodyBytes);
}

TEST_F(DownloadTest, WithoutAnExpectedHashTheComputedOneIsReturnedAndRecorded) {
  auto result = download_file(options_for("/model.gguf"));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_FALSE(result->verified);
  EXPECT_EQ(result->sha256, sha256_of(body_));
  EXPECT_EQ(read_recorded_sha256(dest()), sha256_of(body_));
}

TEST_F(DownloadTest, WrongHashIsAnErrorNamingBothHashesAndLeavesNoFile) {
  DownloadOptions options = options_for("/model.gguf");
  options.expected_sha256 = std::string(64, '0');
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCorruptFile);
  EXPECT_NE(result.error().message.find(std::string(64, '0')), std::string::npos);
  EXPECT_NE(result.error().message.find(sha256_of(body_)), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_FALSE(std::filesystem::exists(part()));
}

TEST_F(DownloadTest, HttpErrorStatusIsANetworkErrorNamingUrlAndStatus) {
  DownloadOptions options = options_for("/missing.gguf");
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNetwork);
  EXPECT_NE(result.error().message.find("404"), std::string::npos);
  EXPECT_NE(result.error().message.find(options.url), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dest()));
}

TEST_F(DownloadTest, InterruptedTransferKeepsThePartAndTheNextRunResumesWithRange) {
  DownloadOptions options = options_for("/flaky.gguf");
  options.expected_sha256 = sha256_of(body_);
  auto first = download_file(options);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kNetwork);
  EXPECT_EQ(std::filesystem::file_size(part()), kCutBytes);

  auto second = download_file(options);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->resumed_from_bytes, kCutBytes);
  EXPECT_TRUE(second->verified);
  EXPECT_EQ(read_file(dest()), body_);
  const std::vector<std::string> ranges = server_.range_headers();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(kCutBytes) + "-");
}

TEST_F(DownloadTest, DroppedConnectionIsResumedAutomaticallyWithinOneCall) {
  DownloadOptions options = options_for("/flaky.gguf");
  options.max_attempts = 3;
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(read_file(dest()), body_);
  EXPECT_EQ(server_.range_headers().size(), 2u);
}

TEST_F(DownloadTest, ServerIgnoringRangeRestartsFromZero) {
  // A stale .part whose bytes are wrong: keeping them would corrupt the file.
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << std::string(5000, 'z');
  DownloadOptions options = options_for("/norange.gguf");
  options.expected_sha256 = sha256_of(body_);
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(read_file(dest()), body_);
  const std::vector<std::string> ranges = server_.range_headers();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], "bytes=5000-");
}

// A stale .part longer than the new file: starting over must cut it, not overwrite its head and
// keep its tail.
TEST_F(DownloadTest, AStalePartLongerThanTheBodyIsCutWhenTheServerIgnoresRange) {
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << std::string(kBodyBytes + 100'000, 'z');
  auto result = download_file(options_for("/norange.gguf"));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->size_bytes, kBodyBytes);
  EXPECT_EQ(std::filesystem::file_size(dest()), kBodyBytes);
  EXPECT_EQ(read_file(dest()), body_);
}

// docs/MODELS.md: a 416 drops the .part and starts again, within the same run.
TEST_F(DownloadTest, AStalePartLongerThanTheFileIsDroppedAfter416AndTheRetryStartsOver) {
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << body_ << std::string(100'000, 'z');
  DownloadOptions options = options_for("/model.gguf");
  options.max_attempts = 2;
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(read_file(dest()), body_);
  const std::vector<std::string> ranges = server_.range_headers();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "bytes=" + std::to_string(kBodyBytes + 100'000) + "-");
  EXPECT_EQ(ranges[1], "");
}

// A 206 whose Content-Range starts elsewhere than the .part ends: appending it would put the
// server's bytes at the wrong offset.
TEST_F(DownloadTest, A206FromAnotherOffsetIsRefusedAndThePartDropped) {
  const std::string body = body_;
  testing::RawHttpServer raw([&body](const testing::HttpRequest&) {
    return testing::http_response(206, body,
                                  {"Content-Range: bytes 0-" + std::to_string(body.size() - 1) +
                                   "/" + std::to_string(body.size())});
  });
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << body_.substr(0, 12345);
  DownloadOptions options = options_for("/model.gguf");
  options.url = raw.url("/model.gguf");
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNetwork);
  EXPECT_NE(result.error().message.find("resumed at byte 0 instead of 12345"), std::string::npos)
      << result.error().message;
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_FALSE(std::filesystem::exists(part()) && std::filesystem::file_size(part()) > 0);
  ASSERT_EQ(raw.requests().size(), 1u);
  EXPECT_EQ(raw.requests()[0].range, "bytes=12345-");
}

// ---- what the finished file must be (issue 15, defect 3) ----

constexpr char kMagic[] = "MAGC";

std::string with_magic(std::string body) { return body.replace(0, 4, kMagic); }

// The loopback routes send body_, which does not start with kMagic: perfect for the refusal.
TEST_F(DownloadTest, ABodyThatDoesNotStartWithTheMagicIsRefusedBeforeAByteIsWritten) {
  DownloadOptions options = options_for("/model.gguf");
  options.magic = kMagic;
  options.format_name = "test model";
  uint64_t most_bytes = 0;
  options.on_progress = [&](const DownloadProgress& p) {
    most_bytes = std::max(most_bytes, p.done_bytes);
  };
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCorruptFile);
  EXPECT_NE(result.error().message.find("did not send a test model"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(most_bytes, 0u);
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_FALSE(std::filesystem::exists(part()));
}

TEST_F(DownloadTest, AnHtmlPageIsNamedByItsFirstBytes) {
  testing::RawHttpServer raw([](const testing::HttpRequest&) {
    return testing::http_response(200, "<!DOCTYPE html><html><body>Sign in</body></html>");
  });
  DownloadOptions options = options_for("/model.gguf");
  options.url = raw.url("/model.gguf");
  options.magic = kMagic;
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCorruptFile);
  EXPECT_NE(result.error().message.find("<!DOCTYPE html>"), std::string::npos)
      << result.error().message;
  EXPECT_FALSE(std::filesystem::exists(part()));
}

TEST_F(DownloadTest, APartThatDoesNotStartWithTheMagicIsDiscardedNotResumed) {
  const std::string body = with_magic(body_);
  testing::RawHttpServer raw([&body](const testing::HttpRequest& request) {
    return testing::serve_with_ranges(body, request);
  });
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << std::string(5000, 'z');
  DownloadOptions options = options_for("/model.gguf");
  options.url = raw.url("/model.gguf");
  options.magic = kMagic;
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->resumed_from_bytes, 0u);
  EXPECT_EQ(read_file(dest()), body);
  ASSERT_EQ(raw.requests().size(), 1u);
  EXPECT_EQ(raw.requests()[0].range, "");
}

TEST_F(DownloadTest, APartThatStartsWithTheMagicIsResumed) {
  const std::string body = with_magic(body_);
  testing::RawHttpServer raw([&body](const testing::HttpRequest& request) {
    return testing::serve_with_ranges(body, request);
  });
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << body.substr(0, 2);  // shorter than the magic
  DownloadOptions options = options_for("/model.gguf");
  options.url = raw.url("/model.gguf");
  options.magic = kMagic;
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->resumed_from_bytes, 2u);
  EXPECT_EQ(read_file(dest()), body);
}

// A short body with a matching Content-Length, and one without Content-Length cut early: the
// transfer itself succeeds, so only a check of the finished file can tell.
TEST_F(DownloadTest, TheFileCheckRunsOnTheCompletePartAndItsErrorLeavesNothing) {
  const std::string whole = body_;
  for (bool content_length : {true, false}) {
    testing::RawHttpServer raw([&](const testing::HttpRequest&) {
      return testing::http_response(200, whole.substr(0, 1000), {}, content_length);
    });
    DownloadOptions options = options_for("/model.gguf");
    options.url = raw.url("/model.gguf");
    options.format_name = "test model";
    std::vector<uint64_t> checked_sizes;
    options.check_file = [&](const std::filesystem::path& file) -> Status {
      EXPECT_EQ(file, part());
      checked_sizes.push_back(std::filesystem::file_size(file));
      return make_error(ErrorCode::kCorruptFile, "file is truncated");
    };
    auto result = download_file(options);
    ASSERT_FALSE(result.ok()) << "content_length " << content_length;
    EXPECT_EQ(result.error().code, ErrorCode::kCorruptFile);
    EXPECT_NE(result.error().message.find("file is truncated"), std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find("not a complete test model"), std::string::npos)
        << result.error().message;
    EXPECT_EQ(checked_sizes, std::vector<uint64_t>{1000});
    EXPECT_FALSE(std::filesystem::exists(dest()));
    EXPECT_FALSE(std::filesystem::exists(part()));
  }
}

TEST_F(DownloadTest, AFileThatPassesTheCheckReplacesTheOldOne) {
  std::filesystem::create_directories(dest().parent_path());
  std::ofstream(dest(), std::ios::binary) << "old";
  DownloadOptions options = options_for("/model.gguf");
  bool old_file_still_there = false;
  options.check_file = [&](const std::filesystem::path&) -> Status {
    old_file_still_there = read_file(dest()) == "old";
    return ok_status();
  };
  auto result = download_file(options);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_TRUE(old_file_still_there);
  EXPECT_EQ(read_file(dest()), body_);
}

TEST_F(DownloadTest, ExistingPartIsReusedWhenTheServerHonoursRange) {
  std::filesystem::create_directories(part().parent_path());
  std::ofstream(part(), std::ios::binary) << body_.substr(0, 12345);
  auto result = download_file(options_for("/model.gguf"));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(result->resumed_from_bytes, 12345u);
  EXPECT_EQ(result->sha256, sha256_of(body_));
  EXPECT_EQ(server_.range_headers().at(0), "bytes=12345-");
}

TEST_F(DownloadTest, StalledServerHitsTheLowSpeedLimit) {
  DownloadOptions options = options_for("/slow.gguf");
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNetwork);
  EXPECT_NE(result.error().message.find("stalled"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(part()));  // kept for resuming
  EXPECT_FALSE(std::filesystem::exists(dest()));
}

TEST_F(DownloadTest, NotEnoughFreeSpaceIsRefusedBeforeWriting) {
  DownloadOptions options = options_for("/model.gguf");
  options.free_space = [](const std::filesystem::path&) -> Result<uint64_t> { return 1000; };
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kResourceExhausted);
  const std::string& message = result.error().message;
  EXPECT_NE(message.find(std::to_string(kBodyBytes)), std::string::npos) << message;
  EXPECT_NE(message.find("1000 bytes free"), std::string::npos) << message;
  EXPECT_NE(message.find(part().parent_path().string()), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(part()));  // nothing was written, nothing to resume
}

TEST_F(DownloadTest, WithoutContentLengthTheSizeHintDrivesTheFreeSpaceCheck) {
  DownloadOptions options = options_for("/norange.gguf");
  options.size_hint_bytes = 5'000'000;
  uint64_t free_space_calls = 0;
  options.free_space = [&](const std::filesystem::path&) -> Result<uint64_t> {
    ++free_space_calls;
    return 4'000'000;
  };
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(result.error().message.find("5000000"), std::string::npos);
  EXPECT_EQ(free_space_calls, 1u);
}

TEST_F(DownloadTest, CancelFlagStopsTheTransferAndKeepsThePart) {
  DownloadOptions options = options_for("/slow.gguf");
  options.low_speed_bytes_per_s = 0;  // slowness is the point here, not an error
  std::atomic<bool> cancel{false};
  options.cancel = &cancel;
  options.on_progress = [&](const DownloadProgress& p) {
    if (p.done_bytes >= 20) cancel = true;
  };
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  EXPECT_GE(std::filesystem::file_size(part()), 20u);
  EXPECT_FALSE(std::filesystem::exists(dest()));
}

// A port that was just free: nothing listens there, so connecting is refused.
int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

TEST_F(DownloadTest, ConnectionRefusedExplainsHowToWorkOffline) {
  DownloadOptions options = options_for("/model.gguf");
  options.url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/model.gguf";
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNetwork);
  const std::string& message = result.error().message;
  EXPECT_NE(message.find("test-model"), std::string::npos) << message;
  EXPECT_NE(message.find(dest().string()), std::string::npos) << message;
  EXPECT_NE(message.find("cmdai --model /path/to/model.gguf"), std::string::npos) << message;
  EXPECT_NE(message.find("cmdai model pull test-model"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(part()));
}

TEST_F(DownloadTest, RejectsAMalformedExpectedHashBeforeConnecting) {
  DownloadOptions options = options_for("/model.gguf");
  options.expected_sha256 = "abc";
  auto result = download_file(options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(server_.range_headers().empty());
}

}  // namespace
}  // namespace cmdai::catalog
