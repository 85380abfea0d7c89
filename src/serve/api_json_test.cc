// The JSON layer of both APIs: requests checked field by field into a CompletionRequest (every
// bad input is a 400 naming the field), and responses in the shapes the official clients read.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/json_fields.h"
#include "serve/ollama_api.h"
#include "serve/openai_api.h"

namespace cmdai::serve {
namespace {

using nlohmann::json;

std::optional<ApiError> parse_openai(const std::string& body, bool chat, CompletionRequest* out) {
  json j;
  if (auto e = parse_object(body, &j)) return e;
  return parse_openai_request(j, chat, out);
}

TEST(OpenAiRequest, ChatMessagesAreRenderedAsChatMl) {
  CompletionRequest r;
  ASSERT_FALSE(
      parse_openai(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", true, &r));
  EXPECT_EQ(r.model, "m");
  EXPECT_TRUE(r.chat);
  EXPECT_NE(r.prompt.find("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
            std::string::npos);
  EXPECT_EQ(r.prompt.rfind("<|im_start|>system\n", 0), 0u);  // the default system prompt
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_FALSE(r.stream);
}

TEST(OpenAiRequest, ContentPartsAreJoined) {
  CompletionRequest r;
  ASSERT_FALSE(parse_openai(
      R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})",
      true, &r));
  EXPECT_NE(r.prompt.find("user\nab<|im_end|>"), std::string::npos);
}

TEST(OpenAiRequest, SamplingLimitsAndStopAreRead) {
  CompletionRequest r;
  ASSERT_FALSE(parse_openai(
      R"({"prompt":"x","max_tokens":7,"temperature":0,"top_p":0.5,"seed":9,"stop":["\n",""],
          "stream":true,"stream_options":{"include_usage":true}})",
      false, &r));
  EXPECT_EQ(r.prompt, "x");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.seed, 9u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});  // empty strings stop nothing
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAiRequest, MaxCompletionTokensWinsAndStopMayBeAString) {
  CompletionRequest r;
  ASSERT_FALSE(parse_openai(
      R"({"prompt":"x","max_tokens":7,"max_completion_tokens":3,"stop":"END"})", false, &r));
  EXPECT_EQ(r.max_tokens, 3);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
}

struct BadRequest {
  const char* body;
  bool chat;
  const char* param;  // the field the error names; "" = none
};

TEST(OpenAiRequest, BadInputIsA400NamingTheField) {
  const BadRequest cases[] = {
      {"{", true, ""},
      {"[1]", true, ""},
      {"\"text\"", false, ""},
      {"{\"prompt\":\"\xff\xfe\"}", false, ""},
      {R"({"messages":[]})", true, "messages"},
      {R"({"messages":"hi"})", true, "messages"},
      {R"({"messages":[{"content":"x"}]})", true, "messages[0]"},
      {R"({"messages":[{"role":"user","content":5}]})", true, "messages[0].content"},
      {R"({"prompt":5})", false, "prompt"},
      {R"({"prompt":["a","b"]})", false, "prompt"},
      {R"({"prompt":"x","max_tokens":"10"})", false, "max_tokens"},
      {R"({"prompt":"x","max_tokens":0})", false, "max_tokens"},
      {R"({"prompt":"x","max_tokens":1.5})", false, "max_tokens"},
      {R"({"prompt":"x","max_tokens":1e300})", false, "max_tokens"},
      {R"({"prompt":"x","temperature":3})", false, "temperature"},
      {R"({"prompt":"x","temperature":"hot"})", false, "temperature"},
      {R"({"prompt":"x","top_p":-1})", false, "top_p"},
      {R"({"prompt":"x","stop":[1]})", false, "stop"},
      {R"({"prompt":"x","stop":["a","b","c","d","e"]})", false, "stop"},
      {R"({"prompt":"x","stream":"yes"})", false, "stream"},
      {R"({"prompt":"x","n":2})", false, "n"},
      {R"({"prompt":"x","model":7})", false, "model"},
      {R"({"prompt":"x","stream_options":[]})", false, "stream_options"},
  };
  for (const BadRequest& c : cases) {
    CompletionRequest r;
    const auto e = parse_openai(c.body, c.chat, &r);
    ASSERT_TRUE(e.has_value()) << c.body;
    EXPECT_EQ(e->http_status, 400) << c.body;
    EXPECT_EQ(e->type, "invalid_request_error") << c.body;
    EXPECT_EQ(e->param, c.param) << c.body;
  }
}

TEST(OpenAiResponse, ChatResponseHasMessageFinishReasonAndUsage) {
  CompletionOutcome o;
  o.text = "ls -la";
  o.stop_reason = engine::StopReason::kMaxTokens;
  o.prompt_tokens = 10;
  o.completion_tokens = 4;
  const json j = openai_response({"chatcmpl-1", 5, "m", true}, o);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "ls -la");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["total_tokens"], 14);
}

TEST(OpenAiResponse, StreamChunksAreServerSentEvents) {
  const OpenAiIds ids{"cmpl-1", 5, "m", false};
  const json chunk = openai_chunk(ids, "ab", true);
  EXPECT_EQ(chunk["object"], "text_completion");
  EXPECT_EQ(chunk["choices"][0]["text"], "ab");
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
  CompletionOutcome o;
  o.stop_reason = engine::StopReason::kStopSequence;
  EXPECT_EQ(openai_final_chunk(ids, o)["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(openai_usage_chunk(ids, o)["choices"].empty());
  EXPECT_EQ(sse_event(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  const json chat_chunk = openai_chunk({"c", 5, "m", true}, "x", true);
  EXPECT_EQ(chat_chunk["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chat_chunk["object"], "chat.completion.chunk");
}

TEST(ApiErrorObject, HasOpenAisShapeWithNullsForAbsentFields) {
  const json j = invalid_request("bad", "").to_json();
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_EQ(model_not_found("x").to_json()["error"]["code"], "model_not_found");
  EXPECT_EQ(model_not_found("x").http_status, 404);
  EXPECT_EQ(body_too_large(10).http_status, 413);
  EXPECT_EQ(unauthorized().http_status, 401);
}

TEST(ApiErrorObject, EngineErrorsMapToStatuses) {
  EXPECT_EQ(from_error({ErrorCode::kInvalidArgument, "x"}).http_status, 400);
  EXPECT_EQ(from_error({ErrorCode::kTimeout, "x"}).http_status, 504);
  const ApiError busy = from_error({ErrorCode::kResourceExhausted, "x"});
  EXPECT_EQ(busy.http_status, 429);
  EXPECT_GT(busy.retry_after_s, 0);
  const ApiError down = from_error({ErrorCode::kCancelled, "x"});
  EXPECT_EQ(down.http_status, 503);
  EXPECT_GT(down.retry_after_s, 0);
  EXPECT_EQ(from_error({ErrorCode::kInternal, "x"}).http_status, 500);
}

std::optional<ApiError> parse_ollama(const std::string& body, bool chat, CompletionRequest* out) {
  json j;
  if (auto e = parse_object(body, &j)) return e;
  return parse_ollama_request(j, chat, out);
}

TEST(OllamaRequest, StreamsByDefaultAndReadsOptions) {
  CompletionRequest r;
  ASSERT_FALSE(parse_ollama(
      R"({"model":"m","prompt":"hi","options":{"temperature":0,"top_p":0.3,"seed":4,
          "num_predict":5,"stop":["x"]}})",
      false, &r));
  EXPECT_TRUE(r.stream);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.3f);
  EXPECT_EQ(r.sampling.seed, 4u);
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_NE(r.prompt.find("<|im_start|>user\nhi<|im_end|>"), std::string::npos);
}

TEST(OllamaRequest, RawPromptIsUsedAsIsAndStreamFalseIsHonoured) {
  CompletionRequest r;
  ASSERT_FALSE(parse_ollama(R"({"prompt":"# list files\n","raw":true,"stream":false})", false, &r));
  EXPECT_EQ(r.prompt, "# list files\n");
  EXPECT_FALSE(r.stream);
}

TEST(OllamaRequest, BadInputIsA400) {
  for (const char* body : {R"({"messages":[{"role":"user","content":1}]})", R"({"messages":{}})",
                           R"({"options":{"temperature":"x"}})", R"({"options":[]})",
                           R"({"options":{"num_predict":-3}})", R"({"stream":1})"}) {
    CompletionRequest r;
    const auto e = parse_ollama(body, std::string(body).find("messages") != std::string::npos, &r);
    ASSERT_TRUE(e.has_value()) << body;
    EXPECT_EQ(e->http_status, 400) << body;
  }
}

TEST(OllamaResponse, FinalObjectCarriesDoneReasonAndNanosecondCounters) {
  CompletionOutcome o;
  o.stop_reason = engine::StopReason::kEndOfGeneration;
  o.prompt_tokens = 3;
  o.completion_tokens = 2;
  o.prefill_ms = 1.5;
  o.decode_ms = 2;
  o.total_ms = 4;
  const json j = ollama_final("m", true, "", o, 0.25);
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "stop");
  EXPECT_EQ(j["prompt_eval_count"], 3);
  EXPECT_EQ(j["prompt_eval_duration"], 1'500'000);
  EXPECT_EQ(j["eval_count"], 2);
  EXPECT_EQ(j["eval_duration"], 2'000'000);
  EXPECT_EQ(j["total_duration"], 4'000'000);
  EXPECT_EQ(j["load_duration"], 250'000);
  EXPECT_EQ(j["message"]["role"], "assistant");
  const std::string t = ollama_chunk("m", false, "x")["created_at"];
  EXPECT_EQ(t.size(), std::string("2024-01-01T00:00:00.000000000Z").size()) << t;
}

}  // namespace
}  // namespace cmdai::serve
