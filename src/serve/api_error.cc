#include "serve/api_error.h"

#include <fmt/format.h>

namespace cmdai::serve {

nlohmann::json ApiError::to_json() const {
  const auto or_null = [](const std::string& s) -> nlohmann::json {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  return {
      {"error",
       {{"message", message}, {"type", type}, {"param", or_null(param)}, {"code", or_null(code)}}}};
}

ApiError invalid_request(std::string message, std::string param) {
  return {400, "invalid_request_error", std::move(message), std::move(param), "", 0};
}

ApiError unauthorized() {
  return {401,
          "authentication_error",
          "missing or wrong API key: send 'Authorization: Bearer <key>' with the server's key",
          "",
          "invalid_api_key",
          0};
}

ApiError not_found_route(const std::string& method, const std::string& path) {
  return {404, "invalid_request_error", fmt::format("no route for {} {}", method, path),
          "",  "unknown_url",           0};
}

ApiError model_not_found(const std::string& model) {
  return {
      404,
      "invalid_request_error",
      fmt::format("the model '{}' does not exist on this server (GET /v1/models lists it)", model),
      "model",
      "model_not_found",
      0};
}

ApiError body_too_large(size_t limit_bytes) {
  return {413,
          "invalid_request_error",
          fmt::format("request body is larger than this server's limit of {} bytes", limit_bytes),
          "",
          "request_too_large",
          0};
}

ApiError overloaded(bool shutting_down) {
  if (shutting_down) {
    return {503, "server_error",        "the server is shutting down; try another instance",
            "",  "service_unavailable", 5};
  }
  return {429,
          "rate_limit_error",
          "the server's request queue is full; retry after the Retry-After seconds",
          "",
          "queue_full",
          1};
}

ApiError from_error(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return invalid_request(error.message);
    case ErrorCode::kTimeout:
      return {504, "server_error", "the request ran past its deadline: " + error.message,
              "",  "timeout",      0};
    case ErrorCode::kResourceExhausted:
      return overloaded(false);
    case ErrorCode::kCancelled:
      return overloaded(true);
    case ErrorCode::kGenerationFailed:
      return {502, "server_error", error.message, "", "generation_failed", 0};
    default:
      return {500, "server_error", error.message, "", "internal_error", 0};
  }
}

}  // namespace cmdai::serve
