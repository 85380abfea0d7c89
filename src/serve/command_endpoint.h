// POST /v1/cmdai/command: {"request": "...", "shell": "bash", "safety": "moderate",
// "explain": false} through the whole pipeline of `cmdai <request>` (prompt, constrained answer,
// strict parse with one retry, safety verdict), answered with the object `cmdai -o json` prints.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serve/api_error.h"
#include "serve/completion_service.h"

namespace cmdai::serve {

struct CommandReply {
  nlohmann::ordered_json body;  // when !error
  std::optional<ApiError> error;
  int prompt_tokens = 0;
  int generated_tokens = 0;
  bool client_gone = false;  // the client hung up: the generation was cancelled, nothing to send
};

// client_gone is polled while the model runs (see SchedulerBackend).
CommandReply run_command_request(CompletionService& service, const std::string& model_name,
                                 const std::string& body,
                                 std::function<bool()> client_gone = nullptr);

}  // namespace cmdai::serve
