// An InferenceBackend over the server's CompletionService, so /v1/cmdai/command runs the very
// pipeline of `cmdai <request>` (EmbeddedGenerator: prompt, constrained answer, parse, one retry)
// on the shared batch scheduler instead of a private model.
#pragma once

#include <functional>
#include <mutex>
#include <string>

#include "backend/inference_backend.h"
#include "serve/completion_service.h"

namespace cmdai::serve {

class SchedulerBackend : public InferenceBackend {
 public:
  // Polled while a generation runs; true once nobody waits for the answer any more.
  using ClientGone = std::function<bool()>;

  // `service` must outlive the backend. One backend serves one HTTP request (its timings are
  // that request's). When client_gone turns true the generation is cancelled and infer answers
  // kCancelled (the pipeline then stops instead of retrying).
  SchedulerBackend(CompletionService& service, std::string model_name, ModelVariant variant,
                   ClientGone client_gone = nullptr);

  Result<std::string> infer(std::string_view prompt, const EmbeddedConfig& config) override;
  Result<std::string> infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                   const PieceCallback& on_piece) override;
  ModelVariant variant() const override { return variant_; }
  MemoryType memory_type() const override { return MemoryType::kHostMapped; }
  Status load() override { return ok_status(); }
  Status unload() override { return ok_status(); }
  bool is_loaded() const override { return true; }
  InferenceTimings last_timings() const override;
  std::string model_name() const override { return model_name_; }

 private:
  CompletionService& service_;
  std::string model_name_;
  ModelVariant variant_;
  ClientGone client_gone_;
  mutable std::mutex mutex_;
  InferenceTimings timings_;
};

}  // namespace cmdai::serve
