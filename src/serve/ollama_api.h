// Ollama's REST shapes: /api/generate and /api/chat requests checked into a CompletionRequest
// (streaming is on unless "stream": false), their NDJSON objects, and /api/tags, /api/show,
// /api/version.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serve/api_error.h"
#include "serve/completion_request.h"

namespace cmdai::serve {

// Defaults are Ollama's: temperature 0.8, top_k 40, top_p 0.9, num_predict 256 here (Ollama's
// "until the context is full" would let one request hold a slot for minutes).
std::optional<ApiError> parse_ollama_request(const nlohmann::json& body, bool chat,
                                             CompletionRequest* out);

// A streamed piece ("response" for generate, "message" for chat), done false.
nlohmann::json ollama_chunk(const std::string& model, bool chat, const std::string& text);
// The last object: done true, done_reason, and the counters in nanoseconds. With stream false it
// carries the whole text.
nlohmann::json ollama_final(const std::string& model, bool chat, const std::string& text,
                            const CompletionOutcome& outcome, double load_ms);

// RFC 3339 time in UTC with nanoseconds, as Ollama writes created_at.
std::string rfc3339_now();

struct ServedModelInfo {
  std::string name;  // what clients call it
  std::string architecture;
  int64_t size_bytes = 0;
  int64_t parameters = 0;
  int64_t context_length = 0;
  std::string quantization;  // "Q8_0", …
  int64_t modified_unix_s = 0;
};

nlohmann::json ollama_tags(const ServedModelInfo& info);
nlohmann::json ollama_show(const ServedModelInfo& info);

}  // namespace cmdai::serve
