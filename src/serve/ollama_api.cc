#include "serve/ollama_api.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "serve/json_fields.h"
#include "tokenizer/chat_template.h"

namespace cmdai::serve {
namespace {

std::optional<ApiError> render_chat(const nlohmann::json& body, std::string* prompt) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return invalid_request("'messages' must be a non-empty array of {role, content}", "messages");
  }
  std::vector<tokenizer::ChatMessage> messages;
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& m = (*it)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object()) return invalid_request("'" + param + "' must be an object", param);
    tokenizer::ChatMessage message;
    if (auto e = read_string(m, "role", &message.role)) return e;
    if (auto e = read_string(m, "content", &message.content)) return e;
    if (message.role.empty()) return invalid_request("'" + param + "' needs a role", param);
    messages.push_back(std::move(message));
  }
  *prompt = tokenizer::render_chatml(messages, /*add_generation_prompt=*/true);
  return std::nullopt;
}

// /api/generate: `prompt` under the model's template (with `system`), or as-is with raw true.
std::optional<ApiError> render_generate(const nlohmann::json& body, std::string* prompt) {
  std::string text, system;
  bool raw = false;
  if (auto e = read_string(body, "prompt", &text)) return e;
  if (auto e = read_string(body, "system", &system)) return e;
  if (auto e = read_bool(body, "raw", &raw)) return e;
  if (raw) {
    *prompt = text;
    return std::nullopt;
  }
  std::vector<tokenizer::ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", text});
  *prompt = tokenizer::render_chatml(messages, /*add_generation_prompt=*/true);
  return std::nullopt;
}

std::optional<ApiError> read_options(const nlohmann::json& body, CompletionRequest* r) {
  auto it = body.find("options");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return invalid_request("'options' must be an object", "options");
  const nlohmann::json& o = *it;
  if (auto e = read_float(o, "temperature", 0, 2, &r->sampling.temperature)) return e;
  if (auto e = read_float(o, "top_p", 0, 1, &r->sampling.top_p)) return e;
  int64_t top_k = r->sampling.top_k;
  if (auto e = read_int(o, "top_k", 0, 1'000'000, &top_k)) return e;
  r->sampling.top_k = static_cast<int32_t>(top_k);
  if (auto e = read_float(o, "min_p", 0, 1, &r->sampling.min_p)) return e;
  if (auto e = read_float(o, "repeat_penalty", 0.5, 2, &r->sampling.repeat_penalty)) return e;
  int64_t seed = static_cast<int64_t>(r->sampling.seed);
  if (auto e = read_int(o, "seed", INT64_MIN, INT64_MAX, &seed)) return e;
  r->sampling.seed = static_cast<uint64_t>(seed);
  int64_t num_predict = r->max_tokens;
  if (auto e = read_int(o, "num_predict", -2, kMaxTokensLimit, &num_predict)) return e;
  // -1 (infinite) and -2 (fill the context) mean "as much as we allow".
  r->max_tokens = num_predict <= 0 ? kMaxTokensLimit : static_cast<int>(num_predict);
  if (num_predict == 0) r->max_tokens = 1;
  return read_stop(o, "stop", 16, &r->stop);
}

}  // namespace

std::optional<ApiError> parse_ollama_request(const nlohmann::json& body, bool chat,
                                             CompletionRequest* out) {
  CompletionRequest r;
  r.chat = chat;
  r.stream = true;
  r.sampling.temperature = 0.8f;
  r.sampling.top_k = 40;
  r.sampling.top_p = 0.9f;
  if (auto e = read_string(body, "model", &r.model)) return e;
  if (auto e = read_bool(body, "stream", &r.stream)) return e;
  if (auto e = chat ? render_chat(body, &r.prompt) : render_generate(body, &r.prompt)) return e;
  if (auto e = read_options(body, &r)) return e;
  *out = std::move(r);
  return std::nullopt;
}

std::string rfc3339_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t seconds = system_clock::to_time_t(now);
  const auto nanos = duration_cast<nanoseconds>(now.time_since_epoch()).count() % 1'000'000'000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:09d}Z", date, nanos);
}

nlohmann::json ollama_chunk(const std::string& model, bool chat, const std::string& text) {
  nlohmann::json j = {{"model", model}, {"created_at", rfc3339_now()}};
  if (chat) {
    j["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    j["response"] = text;
  }
  j["done"] = false;
  return j;
}

nlohmann::json ollama_final(const std::string& model, bool chat, const std::string& text,
                            const CompletionOutcome& outcome, double load_ms) {
  nlohmann::json j = ollama_chunk(model, chat, text);
  const auto ns = [](double ms) { return static_cast<int64_t>(ms * 1e6); };
  j["done"] = true;
  j["done_reason"] = std::string(finish_reason(outcome.stop_reason));
  j["total_duration"] = ns(outcome.total_ms);
  j["load_duration"] = ns(load_ms);
  j["prompt_eval_count"] = outcome.prompt_tokens;
  j["prompt_eval_duration"] = ns(outcome.prefill_ms);
  j["eval_count"] = outcome.completion_tokens;
  j["eval_duration"] = ns(outcome.decode_ms);
  return j;
}

namespace {

nlohmann::json details(const ServedModelInfo& info) {
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", info.architecture},
          {"families", {info.architecture}},
          {"parameter_size", fmt::format("{:.1f}M", info.parameters / 1e6)},
          {"quantization_level", info.quantization}};
}

}  // namespace

nlohmann::json ollama_tags(const ServedModelInfo& info) {
  std::time_t t = static_cast<std::time_t>(info.modified_unix_s);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {{"models",
           {{{"name", info.name},
             {"model", info.name},
             {"modified_at", date},
             {"size", info.size_bytes},
             {"digest", ""},
             {"details", details(info)}}}}};
}

nlohmann::json ollama_show(const ServedModelInfo& info) {
  return {{"modelfile", ""},
          {"parameters", ""},
          {"template", "{{ .Prompt }}"},
          {"details", details(info)},
          {"model_info",
           {{"general.architecture", info.architecture},
            {"general.parameter_count", info.parameters},
            {info.architecture + ".context_length", info.context_length}}},
          {"capabilities", {"completion"}}};
}

}  // namespace cmdai::serve
