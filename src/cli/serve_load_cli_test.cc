// `cmdai serve` under load and under clients that misbehave: many clients at once against a small
// queue (every answer is the one the request gets alone, or a clean 429/503; memory stays
// bounded), a client that hangs up on a non-streamed request, and clients too slow to send.
#include <arpa/inet.h>
#include <sys/time.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>

#include "base/sanitizers.h"
#include "cli/serve_test_fixture.h"

namespace cmdai::cli {
namespace {

using nlohmann::json;
using testing::ServeCli;

constexpr int kClients = 32;
constexpr int kRequestsPerClient = 4;
constexpr int kMaxTokens = 12;

// What one /v1/completions request got: the text (streamed pieces joined) and token count, or the
// status with its Retry-After and error type. status -1: no HTTP answer at all.
struct Answer {
  int status = -1;
  std::string text;
  int completion_tokens = -1;
  std::string retry_after, error_type, raw;
};

std::string prompt_for(int client, int request) {
  return "client " + std::to_string(client) + " request " + std::to_string(request) +
         ": list the files changed since commit " + std::to_string(1000 + 37 * client + request);
}

Answer ask(int port, const std::string& prompt, bool stream) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  json body = {{"prompt", prompt}, {"max_tokens", kMaxTokens}, {"temperature", 0}};
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  auto r = c.Post("/v1/completions", body.dump(), "application/json");
  Answer a;
  if (!r) {
    a.raw = httplib::to_string(r.error());
    return a;
  }
  a.status = r->status;
  a.raw = r->body.substr(0, 400);
  if (r->status != 200) {
    a.retry_after = r->get_header_value("Retry-After");
    const json j = json::parse(r->body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("type") && j["error"]["type"].is_string()) {
      a.error_type = j["error"]["type"];
    }
    return a;
  }
  if (!stream) {
    const json j = json::parse(r->body);
    a.text = j["choices"][0]["text"];
    a.completion_tokens = j["usage"]["completion_tokens"];
    return a;
  }
  for (size_t at = 0, end; (end = r->body.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string data = r->body.substr(at + 6, end - at - 6);  // after "data: "
    if (data == "[DONE]") break;
    const json chunk = json::parse(data);
    if (!chunk["choices"].empty()) a.text += chunk["choices"][0]["text"].get<std::string>();
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      a.completion_tokens = chunk["usage"]["completion_tokens"];
    }
  }
  return a;
}

// 32 clients x 4 greedy requests at once against 8 running and 4 waiting: each answer is the one
// the same request gets alone, or a clean refusal; none is lost or carries another's text (every
// prompt is distinct, and so are its answers); resident memory after the load stays near what it
// was after the warm-up.
TEST_F(ServeCli, LoadOf32ClientsEachGetsItsOwnAnswerOrACleanRefusal) {
  start_server({"--parallel", "8", "--queue", "4"});
  std::map<std::string, Answer> alone;
  std::set<std::string> distinct;
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kRequestsPerClient; ++i) {
      const std::string prompt = prompt_for(c, i);
      Answer a = ask(port_, prompt, /*stream=*/false);
      ASSERT_EQ(a.status, 200) << a.raw;
      distinct.insert(a.text);
      alone[prompt] = std::move(a);
    }
  }
  // Mixed-up answers only show when answers differ: most of them must.
  ASSERT_GT(distinct.size(), alone.size() / 2) << "the synthetic model answers too uniformly";
  const int64_t warm_rss_kib = server_rss_kib();
  ASSERT_GT(warm_rss_kib, 0);

  std::vector<std::vector<Answer>> got(kClients);
  std::atomic<int> ready{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      ++ready;
      while (ready.load() < kClients) std::this_thread::yield();
      for (int i = 0; i < kRequestsPerClient; ++i) {
        got[c].push_back(ask(port_, prompt_for(c, i), /*stream=*/(c + i) % 2 == 1));
      }
    });
  }
  for (std::thread& t : clients) t.join();

  int served = 0, refused = 0;
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(got[c].size(), static_cast<size_t>(kRequestsPerClient));
    for (int i = 0; i < kRequestsPerClient; ++i) {
      const Answer& a = got[c][i];
      const Answer& expected = alone[prompt_for(c, i)];
      SCOPED_TRACE("client " + std::to_string(c) + " request " + std::to_string(i));
      if (a.status == 200) {
        ++served;
        EXPECT_EQ(a.text, expected.text);
        EXPECT_EQ(a.completion_tokens, expected.completion_tokens);
      } else if (a.status == 429 || a.status == 503) {
        ++refused;
        EXPECT_FALSE(a.retry_after.empty()) << a.raw;
        EXPECT_FALSE(a.error_type.empty()) << a.raw;
      } else {
        ADD_FAILURE() << "status " << a.status << ": " << a.raw;
      }
    }
  }
  EXPECT_EQ(served + refused, kClients * kRequestsPerClient);
  EXPECT_GT(served, kClients / 2);
  EXPECT_GT(refused, 0) << "32 clients against 12 places: some must be refused";

  // Memory: what a 128-request load may add over the warm-up. Under AddressSanitizer freed memory
  // waits in its quarantine (256 MiB by default) before it is reused.
  constexpr int64_t kMarginKib = kBuiltWithAddressSanitizer ? 320 * 1024 : 48 * 1024;
  const int64_t loaded_rss_kib = server_rss_kib();
  EXPECT_LE(loaded_rss_kib, warm_rss_kib + kMarginKib)
      << "VmRSS " << warm_rss_kib << " KiB after the warm-up, " << loaded_rss_kib
      << " KiB after the load";
  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A raw TCP connection to the server, for clients no HTTP library imitates.
int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{10, 0};  // no read in these tests waits longer
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

void send_all(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Everything the server sends until it closes the connection; *closed false when 10 s passed
// first.
std::string read_until_closed(int fd, bool* closed) {
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) text.append(buffer, n);
  *closed = n == 0;
  return text;
}

std::string post_head(const std::string& path, size_t content_length) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

// The only slot runs a long non-streamed generation; its client hangs up. The server must notice,
// cancel the generation and log it (499), and serve the next request at once rather than after
// the long generation.
TEST_F(ServeCli, AClientThatHangsUpCancelsItsNonStreamedGeneration) {
  start_server({"--parallel", "1", "--queue", "0"});
  for (const char* path : {"/v1/completions", "/api/generate"}) {
    SCOPED_TRACE(path);
    const std::string body = std::string(path) == "/v1/completions"
                                 ? R"({"prompt":"x","max_tokens":1900,"temperature":2,"seed":1})"
                                 : R"({"prompt":"x","stream":false,
                                      "options":{"num_predict":1900,"temperature":2}})";
    const int fd = connect_to(port_);
    ASSERT_GE(fd, 0);
    send_all(fd, post_head(path, body.size()) + body);
    // until the long one holds the slot
    ASSERT_TRUE(server_full()) << log();
    const auto hung_up = std::chrono::steady_clock::now();
    ::close(fd);
    int status = 0;
    while (status != 200 && std::chrono::steady_clock::now() - hung_up < std::chrono::seconds(20)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto r = post("/v1/completions", R"({"prompt":"x","max_tokens":1})");
      status = r ? r->status : 0;
    }
    const auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - hung_up)
                               .count();
    EXPECT_EQ(status, 200) << log();
    EXPECT_LT(waited_ms, 2000) << "the hung-up generation kept its slot";
    EXPECT_NE(log().find(std::string("POST ") + path + " 499"), std::string::npos) << log();
  }
}

// /v1/cmdai/command runs the whole pipeline; a client that hangs up while its request waits in
// the queue must have it cancelled (logged as 499), not generated for nobody once a slot frees.
TEST_F(ServeCli, AClientThatHangsUpCancelsItsCommandRequest) {
  start_server({"--parallel", "1", "--queue", "1"});
  const std::string long_body = R"({"prompt":"x","max_tokens":1900,"temperature":2,"seed":1})";
  const int holder = connect_to(port_);
  ASSERT_GE(holder, 0);
  send_all(holder, post_head("/v1/completions", long_body.size()) + long_body);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // it takes the only slot
  const std::string command_body = R"({"request":"list files"})";
  const int waiter = connect_to(port_);
  ASSERT_GE(waiter, 0);
  send_all(waiter, post_head("/v1/cmdai/command", command_body.size()) + command_body);
  ASSERT_TRUE(server_full()) << log();  // one runs and the other waits
  ::close(waiter);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server notices
  ::close(holder);
  const auto hung_up = std::chrono::steady_clock::now();
  while (log().find("POST /v1/cmdai/command ") == std::string::npos &&
         std::chrono::steady_clock::now() - hung_up < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(log().find("POST /v1/cmdai/command 499"), std::string::npos) << log();
  auto next = post("/v1/completions", R"({"prompt":"x","max_tokens":1})");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

// The answer on a raw connection once the server closed it: a 400 error object that names the
// time limit.
void expect_timed_out_400(int fd) {
  bool closed = false;
  const std::string answer = read_until_closed(fd, &closed);
  EXPECT_TRUE(closed) << "the connection stayed open past 10 s";
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  const size_t body_at = answer.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos) << answer;
  const json j = json::parse(answer.substr(body_at + 4), nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << answer;
  EXPECT_EQ(j["error"]["type"], "invalid_request_error") << answer;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("--client-timeout"), std::string::npos)
      << answer;
}

// Clients whose headers or body stop halfway get a 400 error object naming the time limit and
// lose their connection; meanwhile, and after, the server serves everyone else.
TEST_F(ServeCli, SlowClientsAreCutOffAndTheServerKeepsServing) {
  start_server({"--client-timeout", "1"});
  const int slow_headers = connect_to(port_);
  const int slow_body = connect_to(port_);
  ASSERT_GE(slow_headers, 0);
  ASSERT_GE(slow_body, 0);
  send_all(slow_headers, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  send_all(slow_body, post_head("/v1/completions", 100) + R"({"prompt":)");
  auto meanwhile = post("/v1/completions", R"({"prompt":"x","max_tokens":2})");
  ASSERT_TRUE(meanwhile);
  EXPECT_EQ(meanwhile->status, 200) << meanwhile->body;
  {
    SCOPED_TRACE("headers stop");
    expect_timed_out_400(slow_headers);
  }
  {
    SCOPED_TRACE("body stops");
    expect_timed_out_400(slow_body);
  }
  ::close(slow_body);
  ::close(slow_headers);
  auto after =
      post("/api/generate", R"({"prompt":"x","stream":false,"options":{"num_predict":2}})");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

}  // namespace
}  // namespace cmdai::cli
