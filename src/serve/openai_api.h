// OpenAI's REST shapes: /v1/chat/completions and /v1/completions requests checked into a
// CompletionRequest, and the responses, stream chunks (server-sent events) and /v1/models list.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serve/api_error.h"
#include "serve/completion_request.h"

namespace cmdai::serve {

// Checks `body` (a parsed object) and fills `out`; `chat` picks messages or prompt. Defaults are
// OpenAI's: temperature 1, top_p 1.
std::optional<ApiError> parse_openai_request(const nlohmann::json& body, bool chat,
                                             CompletionRequest* out);

// What every response and chunk of one request shares.
struct OpenAiIds {
  std::string id;       // "chatcmpl-…" or "cmpl-…"
  int64_t created = 0;  // Unix seconds
  std::string model;
  bool chat = false;
};

nlohmann::json openai_response(const OpenAiIds& ids, const CompletionOutcome& outcome);
// A chunk with text (finish_reason null); `first` adds the assistant role to a chat delta.
nlohmann::json openai_chunk(const OpenAiIds& ids, const std::string& text, bool first);
// The last chunk with choices: empty text and the finish reason.
nlohmann::json openai_final_chunk(const OpenAiIds& ids, const CompletionOutcome& outcome);
// stream_options.include_usage: after the final chunk, no choices and the usage.
nlohmann::json openai_usage_chunk(const OpenAiIds& ids, const CompletionOutcome& outcome);
nlohmann::json openai_usage(const CompletionOutcome& outcome);

// One server-sent event: "data: <json>\n\n".
std::string sse_event(const nlohmann::json& data);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

nlohmann::json openai_model_list(const std::string& model, int64_t created);

}  // namespace cmdai::serve
