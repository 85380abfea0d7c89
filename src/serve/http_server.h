// `cmdai serve`'s HTTP side: the routes of both APIs and cmdai's own, API-key checks, limits
// (body size, read/write timeouts), one log line per request on stderr, and a graceful stop.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/result.h"
#include "serve/completion_service.h"
#include "serve/ollama_api.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace cmdai::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0 = any free port (bind() says which)
  std::string api_key;  // "" = none (loopback only, see auth.h)
  size_t max_body_bytes = 4u << 20;
  int read_timeout_s = 30;         // for a client's headers and body
  int write_timeout_s = 30;        // for a client that stops reading
  int shutdown_grace_ms = 10'000;  // in-flight requests get this long to finish on SIGTERM
  int http_threads = 16;           // connections served at once
  ServedModelInfo model;
  double load_ms = 0;  // opening the model, reported as Ollama's load_duration
};

class HttpServer {
 public:
  // `service` must outlive the server.
  HttpServer(CompletionService& service, ServerOptions options);
  ~HttpServer();

  // Binds the listening socket; the port bound. kIo naming the address when it is taken.
  Result<int> bind();
  // Serves until stop() (from any thread, e.g. a signal watcher).
  Status serve();
  // New requests get 503; in-flight ones get shutdown_grace_ms to finish, then are cancelled;
  // then the listener closes and serve() returns.
  void stop();

 private:
  void install_routes();
  void handle_openai(const httplib::Request& req, httplib::Response& res, bool chat);
  void handle_ollama(const httplib::Request& req, httplib::Response& res, bool chat);
  // The started stream, or null with the error already in `res`.
  std::shared_ptr<CompletionStream> submit(const httplib::Request& req, httplib::Response& res,
                                           const CompletionRequest& request);

  class Listener;  // httplib::Server with a real listen backlog

  CompletionService& service_;
  ServerOptions options_;
  std::unique_ptr<Listener> server_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace cmdai::serve
