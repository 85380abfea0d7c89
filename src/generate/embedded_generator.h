// The CommandGenerator that runs the embedded model through an InferenceBackend.
#pragma once

#include <memory>

#include "backend/inference_backend.h"
#include "generate/command_generator.h"

namespace cmdai {

struct SamplingSettings {
  // Greedy by default (commands want the most likely answer); the narrowing applies when a
  // temperature is set, and to the retry.
  SamplingParams sampling{0.0f, 40, 0.95f, 0.05f, 1.0f, 64, 42};
  int max_tokens = 128;
  int timeout_ms = 30000;  // generation after the model is loaded, all steps together; 0 = none
  const std::atomic<bool>* cancel = nullptr;
};

class EmbeddedGenerator : public CommandGenerator {
 public:
  EmbeddedGenerator(std::shared_ptr<InferenceBackend> backend, SamplingSettings settings);

  // Malformed answers are retried once (with a little temperature, since greedy would repeat
  // itself), then reported as kGenerationFailed. Nothing unparsed ever leaves this function.
  // With request.explain, the command is generated exactly as without it, then explained.
  Result<GeneratedCommand> generate(const GenerationRequest& request) override;
  std::string name() const override;

 private:
  Result<GeneratedCommand> attempt(const GenerationRequest& request, const EmbeddedConfig& config);
  Result<std::string> explain(const GenerationRequest& request, const std::string& command,
                              const EmbeddedConfig& config);

  std::shared_ptr<InferenceBackend> backend_;
  SamplingSettings settings_;
};

}  // namespace cmdai
