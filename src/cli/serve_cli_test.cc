// `cmdai serve` end to end: a real server process on a free loopback port with a tiny synthetic
// model (the shared Qwen vocabulary, random weights), spoken to over HTTP as the OpenAI and Ollama
// clients do, fed bad input, overloaded, and used by `cmdai --backend openai` itself.
#include <nlohmann/json.hpp>

#include "cli/serve_test_fixture.h"

namespace cmdai::cli {
namespace {

using nlohmann::json;
using testing::CliResult;
using testing::run_cli;
using testing::ServeCli;

TEST_F(ServeCli, OpenAiChatCompletionAnswersWithMessageAndUsage) {
  start_server();
  auto models = client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "synth");
  auto r = post("/v1/chat/completions",
                R"({"model":"synth","messages":[{"role":"user","content":"hi"}],"max_tokens":5,
                    "temperature":0})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 5);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 10);
  const std::string finish = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  EXPECT_NE(log().find("POST /v1/chat/completions 200 prompt_tokens="), std::string::npos) << log();
}

TEST_F(ServeCli, OpenAiStreamIsServerSentEventsEndingWithUsageAndDone) {
  start_server();
  auto r = post("/v1/completions",
                R"({"prompt":"ls","max_tokens":6,"temperature":2,"seed":3,"stream":true,
                    "stream_options":{"include_usage":true}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::vector<json> chunks;
  size_t at = 0;
  std::string last;
  while (at < r->body.size()) {
    const size_t end = r->body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos) << r->body;
    const std::string event = r->body.substr(at, end - at);
    ASSERT_EQ(event.rfind("data: ", 0), 0u) << event;
    last = event.substr(6);
    if (last != "[DONE]") chunks.push_back(json::parse(last));
    at = end + 2;
  }
  EXPECT_EQ(last, "[DONE]");
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_TRUE(chunks.back()["choices"].empty());  // the usage chunk
  EXPECT_EQ(chunks.back()["usage"]["completion_tokens"], 6);
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "length");
}

TEST_F(ServeCli, OllamaGenerateStreamsNdjsonAndAnswersOnceWithStreamFalse) {
  start_server();
  auto r = post("/api/generate", R"({"model":"synth:latest","prompt":"hi",
                                     "options":{"num_predict":4,"temperature":2,"seed":1}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<json> lines;
  for (size_t at = 0, end; (end = r->body.find('\n', at)) != std::string::npos; at = end + 1) {
    lines.push_back(json::parse(r->body.substr(at, end - at)));
  }
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front()["done"], false);
  const json& last = lines.back();
  EXPECT_EQ(last["done"], true);
  EXPECT_EQ(last["done_reason"], "length");
  EXPECT_EQ(last["eval_count"], 4);
  for (const char* key : {"total_duration", "load_duration", "prompt_eval_count",
                          "prompt_eval_duration", "eval_duration"}) {
    EXPECT_TRUE(last[key].is_number_integer()) << key;
  }
  auto once = post("/api/chat", R"({"model":"synth","stream":false,"options":{"num_predict":3},
                                    "messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(once);
  ASSERT_EQ(once->status, 200) << once->body;
  const json j = json::parse(once->body);
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["message"]["role"], "assistant");
  EXPECT_EQ(json::parse(client().Get("/api/tags")->body)["models"][0]["name"], "synth");
  EXPECT_TRUE(json::parse(client().Get("/api/version")->body)["version"].is_string());
  auto show = post("/api/show", R"({"model":"synth"})");
  ASSERT_EQ(show->status, 200);
  EXPECT_EQ(json::parse(show->body)["details"]["family"], "qwen2");
}

TEST_F(ServeCli, BadInputGetsA4xxErrorObjectAndTheServerKeepsServing) {
  start_server({"--max-body-bytes", "65536"});
  struct Case {
    std::string path, body;
    int status;
  };
  const std::vector<Case> cases = {
      {"/v1/chat/completions", "{not json", 400},
      {"/v1/chat/completions", R"({"messages":"hi"})", 400},
      {"/v1/completions", "{\"prompt\":\"\xc3\x28\"}", 400},
      {"/v1/completions", R"({"prompt":"x","max_tokens":-1})", 400},
      {"/v1/completions", R"({"prompt":"x","model":"gpt-4"})", 404},
      {"/v1/completions", "{\"prompt\":\"" + std::string(100'000, 'a') + "\"}", 413},
      {"/v1/nothing", "{}", 404},
      {"/api/generate", R"({"model":"other","prompt":"x"})", 404},
      {"/api/chat", R"({"messages":[{"role":"user","content":7}]})", 400},
      {"/v1/cmdai/command", R"({"request":""})", 400},
      {"/v1/cmdai/command", R"({"request":"x","safety":"yolo"})", 400},
      // The same kinds of bad input on the other routes and fields.
      {"/v1/completions", R"({"prompt":"\ud800"})", 400},  // an escaped lone surrogate
      {"/v1/completions", "[1,2]", 400},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":"5"})",
       400},
      {"/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", 400},
      {"/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})",
       404},
      {"/api/generate", "{\"prompt\":", 400},
      {"/api/generate", "{\"prompt\":\"\xed\xa0\x80\"}", 400},  // a UTF-8-encoded surrogate
      {"/api/generate", R"({"prompt":"x","options":"fast"})", 400},
      {"/api/generate", "{\"prompt\":\"" + std::string(100'000, 'a') + "\"}", 413},
      {"/api/show", R"({"model":"nope"})", 404},
      {"/v1/cmdai/command", "{\"request\":\"\xc3\"}", 400},
      {"/v1/cmdai/command", R"({"request":["ls"]})", 400},
  };
  for (const Case& c : cases) {
    auto r = post(c.path, c.body);
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, c.status) << c.path << " " << c.body.substr(0, 80);
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    if (c.path.rfind("/v1/", 0) == 0) {
      EXPECT_TRUE(j["error"]["message"].is_string()) << r->body;
      EXPECT_TRUE(j["error"].contains("type")) << r->body;
    }
  }
  auto fine = post("/v1/completions", R"({"prompt":"x","max_tokens":2})");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200) << fine->body;
}

TEST_F(ServeCli, AFullQueueAnswers429AndADisconnectedClientFreesItsSlot) {
  start_server({"--parallel", "1", "--queue", "0"});
  // A long generation holds the only slot; its client reads the first chunk, then hangs up.
  std::atomic<bool> got_first{false}, hang_up{false};
  std::thread holder([&] {
    httplib::Client c("127.0.0.1", port_);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = R"({"prompt":"x","max_tokens":1900,"temperature":2,"stream":true})";
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      got_first = true;
      return !hang_up.load();
    };
    c.send(req);
  });
  for (int i = 0; i < 400 && !got_first; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(got_first.load());
  auto busy = post("/v1/completions", R"({"prompt":"x","max_tokens":2})");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 429) << busy->body;
  EXPECT_FALSE(busy->get_header_value("Retry-After").empty());
  EXPECT_EQ(json::parse(busy->body)["error"]["type"], "rate_limit_error");
  hang_up = true;
  holder.join();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {  // the cancelled sequence leaves its slot
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = post("/v1/completions", R"({"prompt":"x","max_tokens":2})");
    status = r ? r->status : 0;
  }
  EXPECT_EQ(status, 200) << log();
}

TEST_F(ServeCli, ApiKeyIsRequiredWhenSetAndForANonLoopbackHost) {
  const CliResult open = run_cli({"serve", "--model", model_.string(), "--host", "0.0.0.0"}, env());
  EXPECT_EQ(open.exit_code, 2) << open.err;
  EXPECT_NE(open.err.find("API key"), std::string::npos) << open.err;
  start_server({"--api-key", "s3cret"});
  auto none = client().Get("/v1/models");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(json::parse(none->body)["error"]["type"], "authentication_error");
  auto with = client().Get("/v1/models", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200);
}

TEST_F(ServeCli, CmdaiCommandEndpointAndRemoteBackendRunTheWholePipeline) {
  start_server();
  auto r = post("/v1/cmdai/command", R"({"request":"list files","shell":"bash"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_FALSE(j["command"].get<std::string>().empty());
  for (const char* key : {"risk", "blocked", "rules", "timings", "executed"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);
  const CliResult cli = run_cli(
      {"--backend", "openai", "--url", url, "--model", "synth", "-o", "json", "list files"}, env());
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json out = json::parse(cli.out);
  EXPECT_FALSE(out["command"].get<std::string>().empty());
  EXPECT_EQ(out["backend"], "openai");
  EXPECT_EQ(out["executed"], false);
  const CliResult ollama = run_cli(
      {"--backend", "ollama", "--url", url, "--model", "synth", "-o", "json", "list files"}, env());
  EXPECT_EQ(ollama.exit_code, 0) << ollama.err;
  const CliResult wrong = run_cli(
      {"--backend", "openai", "--url", url, "--model", "nope", "-o", "json", "list files"}, env());
  EXPECT_EQ(wrong.exit_code, 8) << wrong.err;
  EXPECT_NE(wrong.err.find("nope"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace cmdai::cli
