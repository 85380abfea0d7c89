// Test-only: a dependency-free HTTP server on 127.0.0.1 that answers each request with the raw
// bytes a handler returns (one connection at a time, then it closes the connection). Tests use it
// for what real servers get wrong: a short body with a matching Content-Length, a body without
// Content-Length cut early, a 206 from another offset, an HTML page instead of a model.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace cmdai::catalog::testing {

struct HttpRequest {
  std::string method;  // GET, or CONNECT when the server stands in for a proxy
  std::string path;    // as sent: /model.gguf, or host:port for CONNECT
  std::string range;   // the Range header's value, "" without one
};

// Returns the whole response: status line, headers, blank line, body.
using HttpHandler = std::function<std::string(const HttpRequest&)>;

// "HTTP/1.1 <status>" with Connection: close, the extra header lines, and the body; with
// `content_length` false there is no Content-Length, so the body ends where the connection does.
inline std::string http_response(int status, std::string_view body,
                                 const std::vector<std::string>& headers = {},
                                 bool content_length = true) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
  if (content_length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const std::string& header : headers) out += header + "\r\n";
  out += "\r\n";
  out.append(body);
  return out;
}

// What a correct server sends for `body`: 200, or 206 from the Range start, or 416 past the end.
inline std::string serve_with_ranges(const std::string& body, const HttpRequest& request) {
  constexpr std::string_view kPrefix = "bytes=";
  if (request.range.rfind(kPrefix, 0) != 0) return http_response(200, body);
  const size_t start = std::stoull(request.range.substr(kPrefix.size()));
  if (start >= body.size()) {
    return http_response(416, "", {"Content-Range: bytes */" + std::to_string(body.size())});
  }
  return http_response(206, std::string_view(body).substr(start),
                       {"Content-Range: bytes " + std::to_string(start) + "-" +
                        std::to_string(body.size() - 1) + "/" + std::to_string(body.size())});
}

class RawHttpServer {
 public:
  explicit RawHttpServer(HttpHandler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(listen_fd_, 8);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawHttpServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  RawHttpServer(const RawHttpServer&) = delete;
  RawHttpServer& operator=(const RawHttpServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void set_handler(HttpHandler handler) {
    std::lock_guard<std::mutex> lock(mutex_);
    handler_ = std::move(handler);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  static HttpRequest parse(const std::string& head) {
    HttpRequest request;
    const size_t space = head.find(' ');
    request.method = head.substr(0, space);
    const size_t second = head.find(' ', space + 1);
    request.path = head.substr(space + 1, second - space - 1);
    const std::string lowered = lower(head);
    const size_t range = lowered.find("\r\nrange:");
    if (range != std::string::npos) {
      size_t begin = range + 8;
      while (begin < head.size() && head[begin] == ' ') ++begin;
      request.range = head.substr(begin, head.find("\r\n", begin) - begin);
    }
    return request;
  }

  void serve() {
    while (!stopping_) {
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string head;
      char buffer[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = ::read(client, buffer, sizeof(buffer));
        if (got <= 0) break;
        head.append(buffer, static_cast<size_t>(got));
      }
      const HttpRequest request = parse(head);
      std::string response;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(request);
        response = handler_(request);
      }
      size_t sent = 0;
      while (sent < response.size()) {
        const ssize_t wrote =
            ::send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (wrote <= 0) break;
        sent += static_cast<size_t>(wrote);
      }
      ::close(client);
    }
  }

  mutable std::mutex mutex_;
  HttpHandler handler_;
  std::vector<HttpRequest> requests_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace cmdai::catalog::testing
