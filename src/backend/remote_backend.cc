#include "backend/remote_backend.h"

#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace cmdai {
namespace {

// Largest answer body read: a command is a line; anything this big is not an answer.
constexpr size_t kMaxResponseBytes = 1 << 20;

std::string error_detail(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
  }
  return body.substr(0, 200);
}

}  // namespace

Result<std::unique_ptr<RemoteBackend>> RemoteBackend::create(RemoteOptions options) {
  const std::string& url = options.url;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return make_error(ErrorCode::kInvalidArgument,
                      "--url '{}' must start with http:// or https:// (e.g. "
                      "http://127.0.0.1:8080 for cmdai serve, http://127.0.0.1:11434 for Ollama)",
                      url);
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  Endpoint endpoint;
  endpoint.scheme_host_port = url.substr(0, path_start);
  if (endpoint.scheme_host_port.size() <= scheme_end + 3) {
    return make_error(ErrorCode::kInvalidArgument, "--url '{}' names no host", url);
  }
  if (path_start != std::string::npos) endpoint.path_prefix = url.substr(path_start);
  while (!endpoint.path_prefix.empty() && endpoint.path_prefix.back() == '/') {
    endpoint.path_prefix.pop_back();
  }
  // Users paste OpenAI base URLs ending in /v1; the endpoint paths below carry it themselves.
  if (endpoint.path_prefix.ends_with("/v1"))
    endpoint.path_prefix.resize(endpoint.path_prefix.size() - 3);
  if (options.timeout_ms <= 0) options.timeout_ms = 60'000;
  return std::unique_ptr<RemoteBackend>(new RemoteBackend(std::move(options), endpoint));
}

RemoteBackend::RemoteBackend(RemoteOptions options, Endpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

std::string RemoteBackend::api_name() const {
  return options_.api == RemoteApi::kOpenAi ? "openai" : "ollama";
}

std::string RemoteBackend::model_name() const {
  return options_.model.empty() ? endpoint_.scheme_host_port : options_.model;
}

InferenceTimings RemoteBackend::last_timings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timings_;
}

Result<std::string> RemoteBackend::post(const std::string& path, const std::string& body,
                                        int answer_lines) {
  httplib::Client client(endpoint_.scheme_host_port);
  if (!client.is_valid()) {
    return make_error(ErrorCode::kInvalidArgument, "cannot use --url '{}'", options_.url);
  }
  const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
  client.set_connection_timeout(std::min(timeout, std::chrono::milliseconds(10'000)));
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.enable_server_certificate_verification(true);
  if (std::filesystem::exists("/etc/ssl/certs/ca-certificates.crt")) {
    client.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
  }
  httplib::Headers headers;
  if (!options_.api_key.empty()) headers.emplace("Authorization", "Bearer " + options_.api_key);
  // cmdai serve keeps the answer to clean lines as the embedded model does; others ignore it.
  headers.emplace("X-Cmdai-Answer-Lines", std::to_string(answer_lines));
  const std::string where = endpoint_.scheme_host_port + endpoint_.path_prefix + path;
  auto response = client.Post(endpoint_.path_prefix + path, headers, body, "application/json");
  if (!response) {
    const httplib::Error e = response.error();
    if (e == httplib::Error::Read || e == httplib::Error::Write) {
      return make_error(ErrorCode::kTimeout, "{} did not answer within {} ms", where,
                        options_.timeout_ms);
    }
    return make_error(ErrorCode::kUnavailable, "cannot reach {}: {} (is the server running?)",
                      where, httplib::to_string(e));
  }
  // A server shutting down (cmdai serve's 503) or a reverse proxy whose server is down.
  if (response->status == 502 || response->status == 503 || response->status == 504) {
    return make_error(ErrorCode::kUnavailable, "{} is unavailable (HTTP {}): {}", where,
                      response->status, error_detail(response->body));
  }
  if (response->status == 401 || response->status == 403) {
    return make_error(ErrorCode::kNetwork,
                      "{} refused the API key (HTTP {}): set the key's environment variable "
                      "(remote.api_key_env, default CMDAI_REMOTE_API_KEY)",
                      where, response->status);
  }
  if (response->status != 200) {
    return make_error(ErrorCode::kNetwork, "{} answered HTTP {}: {}", where, response->status,
                      error_detail(response->body));
  }
  if (response->body.size() > kMaxResponseBytes) {
    return make_error(ErrorCode::kGenerationFailed, "{} sent a {}-byte answer; that is no command",
                      where, response->body.size());
  }
  return response->body;
}

Result<std::string> RemoteBackend::infer(std::string_view prompt, const EmbeddedConfig& config) {
  return infer_stream(prompt, config, [](std::string_view) { return true; });
}

Result<std::string> RemoteBackend::infer_stream(std::string_view prompt,
                                                const EmbeddedConfig& config,
                                                const PieceCallback& on_piece) {
  const double start_ms = now_ms();
  std::vector<std::string> stop = config.stop;
  if (config.answer_lines == 1) stop.push_back("\n");  // the answer is the first line
  const SamplingParams& s = config.sampling;
  nlohmann::json request;
  std::string path;
  if (options_.api == RemoteApi::kOpenAi) {
    path = "/v1/completions";
    request = {{"prompt", std::string(prompt)},
               {"max_tokens", config.max_tokens},
               {"temperature", s.temperature},
               {"top_p", s.top_p},
               {"seed", s.seed},
               {"stop", stop},
               {"stream", false}};
  } else {
    path = "/api/generate";
    request = {{"prompt", std::string(prompt)},
               {"raw", true},
               {"stream", false},
               {"options",
                {{"temperature", s.temperature},
                 {"top_p", s.top_p},
                 {"top_k", s.top_k},
                 {"seed", s.seed},
                 {"num_predict", config.max_tokens},
                 {"stop", stop}}}};
  }
  if (!options_.model.empty()) request["model"] = options_.model;
  CMDAI_ASSIGN_OR_RETURN(
      std::string body,
      post(path, request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
           config.answer_lines));
  // The server's answer is untrusted: only the expected field of the expected type is read.
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* text = nullptr;
  if (j.is_object() && options_.api == RemoteApi::kOpenAi && j.contains("choices") &&
      j["choices"].is_array() && !j["choices"].empty() && j["choices"][0].is_object() &&
      j["choices"][0].contains("text")) {
    text = &j["choices"][0]["text"];
  } else if (j.is_object() && options_.api == RemoteApi::kOllama && j.contains("response")) {
    text = &j["response"];
  }
  if (text == nullptr || !text->is_string()) {
    return make_error(ErrorCode::kGenerationFailed,
                      "{}{} answered without the completion text (is it an {} server?)",
                      endpoint_.scheme_host_port, path, api_name());
  }
  const std::string answer = text->get<std::string>();
  InferenceTimings t;
  t.total_ms = now_ms() - start_ms;
  t.first_token_ms = t.total_ms;
  const auto count = [&](const char* object, const char* field) {
    const nlohmann::json* o = object ? (j.contains(object) ? &j[object] : nullptr) : &j;
    return o && o->is_object() && o->contains(field) && (*o)[field].is_number_integer()
               ? (*o)[field].get<int>()
               : 0;
  };
  if (options_.api == RemoteApi::kOpenAi) {
    t.prompt_tokens = count("usage", "prompt_tokens");
    t.generated_tokens = count("usage", "completion_tokens");
  } else {
    t.prompt_tokens = count(nullptr, "prompt_eval_count");
    t.generated_tokens = count(nullptr, "eval_count");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    timings_ = t;
  }
  on_piece(answer);
  return answer;
}

}  // namespace cmdai
