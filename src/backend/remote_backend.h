// An InferenceBackend over HTTP: the prompt goes to a completions endpoint of another server
// (OpenAI's /v1/completions, as vLLM, llama.cpp's server and `cmdai serve` answer it, or Ollama's
// /api/generate with raw true) and the text comes back to the same parser and safety check as the
// embedded model's. https is checked against the system's CA certificates.
#pragma once

#include <mutex>
#include <string>

#include "backend/inference_backend.h"

namespace cmdai {

enum class RemoteApi { kOpenAi, kOllama };

struct RemoteOptions {
  RemoteApi api = RemoteApi::kOpenAi;
  std::string url;      // http(s)://host[:port][/prefix]; a trailing /v1 is allowed
  std::string model;    // the server's name for the model; "" = its default (cmdai serve, vLLM)
  std::string api_key;  // sent as "Authorization: Bearer <key>"; "" = none
  int timeout_ms = 60'000;
};

class RemoteBackend : public InferenceBackend {
 public:
  // kInvalidArgument for a URL that is not http(s)://host[:port][/path].
  static Result<std::unique_ptr<RemoteBackend>> create(RemoteOptions options);

  Result<std::string> infer(std::string_view prompt, const EmbeddedConfig& config) override;
  // The whole answer arrives as one piece (the request is not streamed). kUnavailable when the
  // server cannot be reached or answers 502, 503 or 504 (what remote.fallback falls back on),
  // kNetwork for any other refusal, kTimeout past options.timeout_ms.
  Result<std::string> infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                   const PieceCallback& on_piece) override;
  ModelVariant variant() const override { return ModelVariant::kCpu; }
  MemoryType memory_type() const override { return MemoryType::kHostMapped; }
  Status load() override { return ok_status(); }
  Status unload() override { return ok_status(); }
  bool is_loaded() const override { return true; }
  InferenceTimings last_timings() const override;
  std::string model_name() const override;

  // "openai" or "ollama": what the CLI reports as the backend.
  std::string api_name() const;

 private:
  struct Endpoint {
    std::string scheme_host_port;  // "http://127.0.0.1:8080"
    std::string path_prefix;       // "" or "/proxy"
  };
  RemoteBackend(RemoteOptions options, Endpoint endpoint);
  Result<std::string> post(const std::string& path, const std::string& body, int answer_lines);

  RemoteOptions options_;
  Endpoint endpoint_;
  mutable std::mutex mutex_;
  InferenceTimings timings_;
};

}  // namespace cmdai
