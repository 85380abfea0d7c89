// The CommandGenerator that runs the embedded model through an InferenceBackend.
#pragma once

#include <memory>

#include "backend/inference_backend.h"
#include "generate/command_generator.h"

namespace cmdai {

struct SamplingSettings {
  float temperature = 0.0f;  // commands want the most likely answer
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int max_tokens = 128;
  uint64_t seed = 42;
  int timeout_ms = 30000;
  const std::atomic<bool>* cancel = nullptr;
};

class EmbeddedGenerator : public CommandGenerator {
 public:
  EmbeddedGenerator(std::shared_ptr<InferenceBackend> backend, SamplingSettings settings);

  // Malformed answers are retried once (with a little temperature, since greedy would repeat
  // itself), then reported as kGenerationFailed. Nothing unparsed ever leaves this function.
  Result<GeneratedCommand> generate(const GenerationRequest& request) override;
  std::string name() const override;

 private:
  Result<GeneratedCommand> attempt(const GenerationRequest& request, const EmbeddedConfig& config);

  std::shared_ptr<InferenceBackend> backend_;
  SamplingSettings settings_;
};

}  // namespace cmdai
