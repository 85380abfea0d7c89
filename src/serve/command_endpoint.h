// POST /v1/cmdai/command: {"request": "...", "shell": "bash", "safety": "moderate",
// "explain": false} through the whole pipeline of `cmdai <request>` (prompt, constrained answer,
// strict parse with one retry, safety verdict), answered with the object `cmdai -o json` prints.
#pragma once

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
};

CommandReply run_command_request(CompletionService& service, const std::string& model_name,
                                 const std::string& body);

}  // namespace cmdai::serve
