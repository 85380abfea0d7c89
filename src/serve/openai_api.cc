#include "serve/openai_api.h"

#include <fmt/format.h>

#include <span>

#include "serve/json_fields.h"
#include "tokenizer/chat_template.h"

namespace cmdai::serve {
namespace {

// A message's content: a string, or OpenAI's array of parts of which the text ones count.
std::optional<ApiError> message_content(const nlohmann::json& message, size_t index,
                                        std::string* out) {
  const std::string param = fmt::format("messages[{}].content", index);
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return std::nullopt;  // an assistant tool call
  if (it->is_string()) {
    *out = it->get<std::string>();
    return std::nullopt;
  }
  if (!it->is_array())
    return invalid_request("'" + param + "' must be a string or an array", param);
  for (const auto& part : *it) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      return invalid_request("'" + param + "' parts must be {\"type\": \"text\", \"text\": …}",
                             param);
    }
    *out += part["text"].get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> render_messages(const nlohmann::json& body, std::string* prompt) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return invalid_request("'messages' must be a non-empty array of {role, content}", "messages");
  }
  std::vector<tokenizer::ChatMessage> messages;
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& m = (*it)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return invalid_request("'" + param + "' must be an object with a string 'role'", param);
    }
    tokenizer::ChatMessage message{m["role"].get<std::string>(), ""};
    if (message.role == "developer") message.role = "system";  // OpenAI's newer name for it
    if (auto e = message_content(m, i, &message.content)) return e;
    messages.push_back(std::move(message));
  }
  *prompt = tokenizer::render_chatml(messages, /*add_generation_prompt=*/true);
  return std::nullopt;
}

std::optional<ApiError> read_prompt(const nlohmann::json& body, std::string* prompt) {
  auto it = body.find("prompt");
  if (it != body.end() && it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
    *prompt = (*it)[0].get<std::string>();  // a batch of one, as some clients send it
    return std::nullopt;
  }
  if (it == body.end() || !it->is_string()) {
    return invalid_request("'prompt' must be a string (batches of prompts are not supported)",
                           "prompt");
  }
  *prompt = it->get<std::string>();
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_openai_request(const nlohmann::json& body, bool chat,
                                             CompletionRequest* out) {
  CompletionRequest r;
  r.chat = chat;
  r.sampling.temperature = 1.0f;
  r.sampling.top_p = 1.0f;
  if (auto e = read_string(body, "model", &r.model)) return e;
  if (auto e = chat ? render_messages(body, &r.prompt) : read_prompt(body, &r.prompt)) return e;
  int64_t max_tokens = r.max_tokens;
  if (auto e = read_int(body, "max_tokens", 1, kMaxTokensLimit, &max_tokens)) return e;
  if (auto e = read_int(body, "max_completion_tokens", 1, kMaxTokensLimit, &max_tokens)) return e;
  r.max_tokens = static_cast<int>(max_tokens);
  if (auto e = read_float(body, "temperature", 0, 2, &r.sampling.temperature)) return e;
  if (auto e = read_float(body, "top_p", 0, 1, &r.sampling.top_p)) return e;
  int64_t seed = static_cast<int64_t>(r.sampling.seed);
  if (auto e = read_int(body, "seed", INT64_MIN, INT64_MAX, &seed)) return e;
  r.sampling.seed = static_cast<uint64_t>(seed);
  int64_t n = 1;
  if (auto e = read_int(body, "n", 1, 1, &n)) return e;
  if (auto e = read_stop(body, "stop", 4, &r.stop)) return e;
  if (auto e = read_bool(body, "stream", &r.stream)) return e;
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return invalid_request("'stream_options' must be an object", "stream_options");
    if (auto e = read_bool(*it, "include_usage", &r.include_usage)) return e;
  }
  *out = std::move(r);
  return std::nullopt;
}

nlohmann::json openai_usage(const CompletionOutcome& outcome) {
  return {{"prompt_tokens", outcome.prompt_tokens},
          {"completion_tokens", outcome.completion_tokens},
          {"total_tokens", outcome.prompt_tokens + outcome.completion_tokens}};
}

namespace {

nlohmann::json envelope(const OpenAiIds& ids, bool chunk) {
  const char* object =
      ids.chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return {{"id", ids.id},
          {"object", object},
          {"created", ids.created},
          {"model", ids.model},
          {"system_fingerprint", nullptr}};
}

nlohmann::json choice(const OpenAiIds& ids, const std::string& text, bool delta, bool first,
                      const nlohmann::json& finish) {
  nlohmann::json c = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
  if (!ids.chat) {
    c["text"] = text;
  } else if (delta) {
    c["delta"] = first ? nlohmann::json{{"role", "assistant"}, {"content", text}}
                       : nlohmann::json{{"content", text}};
  } else {
    c["message"] = {{"role", "assistant"}, {"content", text}};
  }
  return c;
}

}  // namespace

nlohmann::json openai_response(const OpenAiIds& ids, const CompletionOutcome& outcome) {
  nlohmann::json j = envelope(ids, false);
  // json::array, not braces: `{one_json}` is that json itself under clang, an array under GCC.
  j["choices"] = nlohmann::json::array(
      {choice(ids, outcome.text, false, false, std::string(finish_reason(outcome.stop_reason)))});
  j["usage"] = openai_usage(outcome);
  return j;
}

nlohmann::json openai_chunk(const OpenAiIds& ids, const std::string& text, bool first) {
  nlohmann::json j = envelope(ids, true);
  j["choices"] = nlohmann::json::array({choice(ids, text, true, first, nullptr)});
  return j;
}

nlohmann::json openai_final_chunk(const OpenAiIds& ids, const CompletionOutcome& outcome) {
  nlohmann::json j = envelope(ids, true);
  nlohmann::json c = choice(ids, "", true, false, std::string(finish_reason(outcome.stop_reason)));
  if (ids.chat) c["delta"] = nlohmann::json::object();
  j["choices"] = nlohmann::json::array({c});
  return j;
}

nlohmann::json openai_usage_chunk(const OpenAiIds& ids, const CompletionOutcome& outcome) {
  nlohmann::json j = envelope(ids, true);
  j["choices"] = nlohmann::json::array();
  j["usage"] = openai_usage(outcome);
  return j;
}

std::string sse_event(const nlohmann::json& data) {
  return "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

nlohmann::json openai_model_list(const std::string& model, int64_t created) {
  return {{"object", "list"},
          {"data",
           {{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "cmdai"}}}}};
}

}  // namespace cmdai::serve
