// The error object both APIs answer with (OpenAI's shape, which the Ollama clients also read as
// `error`): {"error": {"message", "type", "param", "code"}} and its HTTP status, and how cmdai's
// own errors map onto it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace cmdai::serve {

struct ApiError {
  int http_status = 500;
  std::string type;       // "invalid_request_error", "authentication_error", ...
  std::string message;    // what was wrong and what to do
  std::string param;      // the request field at fault; "" = none
  std::string code;       // "model_not_found", "context_length_exceeded", ...; "" = none
  int retry_after_s = 0;  // > 0: sent as Retry-After (429, 503)

  nlohmann::json to_json() const;
};

ApiError invalid_request(std::string message, std::string param = "");
ApiError unauthorized();
ApiError not_found_route(const std::string& method, const std::string& path);
ApiError model_not_found(const std::string& model);
ApiError body_too_large(size_t limit_bytes);
// The scheduler's queue is full (429) or the server is shutting down (503).
ApiError overloaded(bool shutting_down);

// An engine error met while serving a request: kInvalidArgument -> 400, kTimeout -> 504 (the
// request's own deadline), kResourceExhausted -> 429, kCancelled -> 503 (shutdown), else 500.
ApiError from_error(const Error& error);

}  // namespace cmdai::serve
