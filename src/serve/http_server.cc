#include "serve/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/clock.h"
#include "serve/api_error.h"
#include "serve/auth.h"
#include "serve/client_connection.h"
#include "serve/command_endpoint.h"
#include "serve/json_fields.h"
#include "serve/openai_api.h"

namespace cmdai::serve {
namespace {

constexpr const char* kServerVersion = "0.1.0";

// How often a request waiting for its non-streamed answer looks whether its client is still there.
constexpr int kClientCheckMs = 50;

// The status logged for a request whose client hung up before its answer (nginx's "client closed
// request"); nobody receives it.
constexpr int kClientClosedStatus = 499;

// What the log line of the request this worker thread serves reports: handlers, stream writers
// and the logger run on the same thread.
struct RequestLog {
  double start_ms = 0;
  int prompt_tokens = 0;
  int generated_tokens = 0;
};
thread_local RequestLog t_log;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_ollama_path(const std::string& path) { return path.rfind("/api/", 0) == 0; }

// OpenAI's error object on /v1, Ollama's {"error": "..."} on /api (what its clients read).
void send_error(const httplib::Request& req, httplib::Response& res, const ApiError& error) {
  res.status = error.http_status;
  if (error.retry_after_s > 0) res.set_header("Retry-After", std::to_string(error.retry_after_s));
  const nlohmann::json body =
      is_ollama_path(req.path) ? nlohmann::json{{"error", error.message}} : error.to_json();
  res.set_content(dump(body), "application/json");
}

// Keeps the server's count of running generations while a response (streamed or not) is alive.
struct InFlight {
  explicit InFlight(std::atomic<int>& n) : count(n) { ++count; }
  ~InFlight() { --count; }
  std::atomic<int>& count;
};

int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string request_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{:x}{:06x}", prefix, unix_now(), counter.fetch_add(1) & 0xffffff);
}

// The client may name the served model, its file name, or (Ollama) either with ":latest".
bool names_served_model(std::string name, const ServedModelInfo& info) {
  constexpr std::string_view kLatest = ":latest";
  if (name.size() > kLatest.size() && name.ends_with(kLatest)) {
    name.resize(name.size() - kLatest.size());
  }
  return name.empty() || name == info.name;
}

// Waits for a non-streamed answer. A client that hangs up meanwhile would get the answer nowhere,
// so its generation is cancelled at once (its slot frees for the next request): *client_gone.
Result<CompletionOutcome> wait_for_answer(CompletionStream& stream, const httplib::Request& req,
                                          bool* client_gone) {
  *client_gone = false;
  const auto connection = ClientConnection::find(req.remote_addr, req.remote_port, req.local_port);
  while (connection && !stream.ended_within(kClientCheckMs)) {
    if (connection->gone()) {
      *client_gone = true;
      stream.cancel();
      break;
    }
  }
  return stream.wait();
}

// X-Cmdai-Answer-Lines: cmdai's own remote backend asks for its answer constraint.
std::optional<ApiError> read_answer_lines(const httplib::Request& req, CompletionRequest* r) {
  if (!req.has_header("X-Cmdai-Answer-Lines")) return std::nullopt;
  const std::string v = req.get_header_value("X-Cmdai-Answer-Lines");
  if (v.size() != 1 || v[0] < '0' || v[0] > '4') {
    return invalid_request("X-Cmdai-Answer-Lines must be 0 to 4");
  }
  r->answer_lines = v[0] - '0';
  return std::nullopt;
}

}  // namespace

// cpp-httplib 0.11 listens with a backlog of 5, compiled into the library: in a burst of clients
// beyond it the kernel drops handshakes, and a client whose request then comes in late through
// TCP's growing retransmit delays finds its connection closed after the keep-alive wait (2 s),
// unanswered. The bound socket gets the system's largest backlog instead.
class HttpServer::Listener : public httplib::Server {
 public:
  void raise_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

HttpServer::HttpServer(CompletionService& service, ServerOptions options)
    : service_(service), options_(std::move(options)), server_(std::make_unique<Listener>()) {
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_read_timeout(options_.read_timeout_s, 0);
  server_->set_write_timeout(options_.write_timeout_s, 0);
  server_->set_keep_alive_timeout(2);  // idle connections must not hold up a graceful stop
  const int threads = std::max(4, options_.http_threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  install_routes();
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  const int port = options_.port == 0
                       ? server_->bind_to_any_port(options_.host)
                       : (server_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) {
    return make_error(ErrorCode::kIo,
                      "cannot listen on {}:{} (is another server using the port? try --port)",
                      options_.host, options_.port);
  }
  server_->raise_backlog();
  return port;
}

Status HttpServer::serve() {
  if (!server_->listen_after_bind()) {
    if (stopping_) return ok_status();
    return make_error(ErrorCode::kIo, "the listening socket on {} failed", options_.host);
  }
  return ok_status();
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  service_.shutdown_accepting();
  const double give_up_ms = now_ms() + options_.shutdown_grace_ms;
  while (in_flight_.load() > 0 && now_ms() < give_up_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  service_.shutdown(/*cancel_in_flight=*/true);
  server_->stop();
}

void HttpServer::install_routes() {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_log = RequestLog{now_ms(), 0, 0};
    if (req.path == "/" || req.path == "/health")
      return httplib::Server::HandlerResponse::Unhandled;
    if (!authorized(options_.api_key, req.get_header_value("Authorization"),
                    req.get_header_value("x-api-key"))) {
      send_error(req, res, unauthorized());
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) return send_error(req, res, body_too_large(options_.max_body_bytes));
    if (res.status == 404) return send_error(req, res, not_found_route(req.method, req.path));
    if (res.status == 400) {  // cpp-httplib could not read the headers or the body
      return send_error(req, res,
                        invalid_request(fmt::format(
                            "the request could not be read: malformed, or its headers or body "
                            "did not arrive within {} s (--client-timeout)",
                            options_.read_timeout_s)));
    }
    ApiError e = invalid_request(fmt::format("HTTP {}", res.status));
    e.http_status = res.status;
    send_error(req, res, e);
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        send_error(req, res, from_error({ErrorCode::kInternal, "internal error"}));
      });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "cmdai serve: %s %s %d prompt_tokens=%d generated_tokens=%d %.0f ms\n",
                 req.method.c_str(), req.path.c_str(), res.status, t_log.prompt_tokens,
                 t_log.generated_tokens, now_ms() - t_log.start_ms);
  });

  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("cmdai is running", "text/plain");
  });
  s.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump(openai_model_list(options_.model.name, options_.model.modified_unix_s)),
                    "application/json");
  });
  for (const bool chat : {true, false}) {
    s.Post(chat ? "/v1/chat/completions" : "/v1/completions",
           [this, chat](const httplib::Request& req, httplib::Response& res) {
             handle_openai(req, res, chat);
           });
    s.Post(chat ? "/api/chat" : "/api/generate",
           [this, chat](const httplib::Request& req, httplib::Response& res) {
             handle_ollama(req, res, chat);
           });
  }
  s.Get("/api/tags", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump(ollama_tags(options_.model)), "application/json");
  });
  s.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump({{"version", kServerVersion}}), "application/json");
  });
  s.Post("/api/show", [this](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json body;
    if (auto e = parse_object(req.body, &body)) return send_error(req, res, *e);
    std::string name;
    if (auto e = read_string(body, "model", &name)) return send_error(req, res, *e);
    if (name.empty()) (void)read_string(body, "name", &name);
    if (!names_served_model(name, options_.model) || name.empty()) {
      return send_error(req, res, model_not_found(name));
    }
    res.set_content(dump(ollama_show(options_.model)), "application/json");
  });
  s.Post("/v1/cmdai/command", [this](const httplib::Request& req, httplib::Response& res) {
    InFlight guard(in_flight_);
    const auto connection =
        ClientConnection::find(req.remote_addr, req.remote_port, req.local_port);
    const CommandReply reply =
        run_command_request(service_, options_.model.name, req.body,
                            [&connection] { return connection && connection->gone(); });
    if (reply.client_gone) {
      res.status = kClientClosedStatus;
      return;
    }
    t_log.prompt_tokens = reply.prompt_tokens;
    t_log.generated_tokens = reply.generated_tokens;
    if (reply.error) return send_error(req, res, *reply.error);
    res.set_content(dump(reply.body), "application/json");
  });
}

// Checks the body, submits, and answers at once or streams; an error before the first byte is an
// error object with its status, one after it ends the stream.
std::shared_ptr<CompletionStream> HttpServer::submit(const httplib::Request& req,
                                                     httplib::Response& res,
                                                     const CompletionRequest& request) {
  if (!names_served_model(request.model, options_.model)) {
    send_error(req, res, model_not_found(request.model));
    return nullptr;
  }
  auto stream = service_.start(request);
  if (!stream.ok()) {
    send_error(req, res, from_error(stream.error()));
    return nullptr;
  }
  return *stream;
}

void HttpServer::handle_openai(const httplib::Request& req, httplib::Response& res, bool chat) {
  auto guard = std::make_shared<InFlight>(in_flight_);
  nlohmann::json body;
  CompletionRequest request;
  if (auto e = parse_object(req.body, &body)) return send_error(req, res, *e);
  if (auto e = parse_openai_request(body, chat, &request)) return send_error(req, res, *e);
  if (auto e = read_answer_lines(req, &request)) return send_error(req, res, *e);
  std::shared_ptr<CompletionStream> stream = submit(req, res, request);
  if (!stream) return;
  const OpenAiIds ids{request_id(chat ? "chatcmpl" : "cmpl"), unix_now(), options_.model.name,
                      chat};
  if (!request.stream) {
    bool client_gone = false;
    auto outcome = wait_for_answer(*stream, req, &client_gone);
    if (client_gone) {
      res.status = kClientClosedStatus;
      return;
    }
    if (!outcome.ok()) return send_error(req, res, from_error(outcome.error()));
    t_log.prompt_tokens = outcome->prompt_tokens;
    t_log.generated_tokens = outcome->completion_tokens;
    res.set_content(dump(openai_response(ids, *outcome)), "application/json");
    return;
  }
  const bool include_usage = request.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [stream, ids, include_usage, guard](size_t, httplib::DataSink& sink) {
        std::string piece;
        bool first = true;
        while (stream->next(&piece)) {
          const std::string event = sse_event(openai_chunk(ids, piece, first));
          first = false;
          if (!sink.write(event.data(), event.size())) {
            stream->cancel();  // the client went away
            return false;
          }
        }
        auto outcome = stream->wait();
        std::string tail;
        if (outcome.ok()) {
          t_log.prompt_tokens = outcome->prompt_tokens;
          t_log.generated_tokens = outcome->completion_tokens;
          tail = sse_event(openai_final_chunk(ids, *outcome));
          if (include_usage) tail += sse_event(openai_usage_chunk(ids, *outcome));
        } else {
          tail = sse_event(from_error(outcome.error()).to_json());
        }
        tail += kSseDone;
        if (!sink.write(tail.data(), tail.size())) return false;
        sink.done();
        return true;
      });
}

void HttpServer::handle_ollama(const httplib::Request& req, httplib::Response& res, bool chat) {
  auto guard = std::make_shared<InFlight>(in_flight_);
  nlohmann::json body;
  CompletionRequest request;
  if (auto e = parse_object(req.body, &body)) return send_error(req, res, *e);
  if (auto e = parse_ollama_request(body, chat, &request)) return send_error(req, res, *e);
  if (auto e = read_answer_lines(req, &request)) return send_error(req, res, *e);
  std::shared_ptr<CompletionStream> stream = submit(req, res, request);
  if (!stream) return;
  const std::string model = options_.model.name;
  const double load_ms = options_.load_ms;
  if (!request.stream) {
    bool client_gone = false;
    auto outcome = wait_for_answer(*stream, req, &client_gone);
    if (client_gone) {
      res.status = kClientClosedStatus;
      return;
    }
    if (!outcome.ok()) return send_error(req, res, from_error(outcome.error()));
    t_log.prompt_tokens = outcome->prompt_tokens;
    t_log.generated_tokens = outcome->completion_tokens;
    res.set_content(dump(ollama_final(model, chat, outcome->text, *outcome, load_ms)),
                    "application/json");
    return;
  }
  res.set_chunked_content_provider("application/x-ndjson", [stream, model, chat, load_ms, guard](
                                                               size_t, httplib::DataSink& sink) {
    std::string piece;
    while (stream->next(&piece)) {
      const std::string line = dump(ollama_chunk(model, chat, piece)) + "\n";
      if (!sink.write(line.data(), line.size())) {
        stream->cancel();
        return false;
      }
    }
    auto outcome = stream->wait();
    std::string tail;
    if (outcome.ok()) {
      t_log.prompt_tokens = outcome->prompt_tokens;
      t_log.generated_tokens = outcome->completion_tokens;
      tail = dump(ollama_final(model, chat, "", *outcome, load_ms)) + "\n";
    } else {
      tail = dump({{"error", from_error(outcome.error()).message}}) + "\n";
    }
    if (!sink.write(tail.data(), tail.size())) return false;
    sink.done();
    return true;
  });
}

}  // namespace cmdai::serve
