// The seed's InferenceBackend: an embedded model variant (CPU, CUDA, MLX) that turns a prompt into
// generated text. Calls are thread-safe; `infer` blocks, `infer_stream` calls back per piece of
// text.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/sampling_params.h"

namespace cmdai {

enum class ModelVariant { kCpu, kCuda, kMlx };
std::string_view variant_name(ModelVariant variant);

// Where a variant keeps the weights (CR-MLX-002): mapped host memory, unified, device memory, or
// a repacked copy in host memory (MLX's CPU backend off Apple Silicon).
enum class MemoryType { kHostMapped, kUnified, kDevice, kHost };
std::string_view memory_type_name(MemoryType type);

// The seed's EmbeddedConfig: sampling and limits for one request.
struct EmbeddedConfig {
  // The contract's defaults: temperature 0.7, top-k 40, top-p 0.95, min-p 0.05.
  SamplingParams sampling{0.7f, 40, 0.95f, 0.05f, 1.0f, 64, 42};
  int max_tokens = 128;
  std::vector<std::string> stop;  // generation ends before any of these strings
  int timeout_ms = 30000;         // the whole request, prompt included; <= 0 = none
  // Bytes at the start of the prompt whose KV state is worth keeping (kept in memory and persisted
  // on disk, so the next request or process prefills only what follows): the longest such prefix,
  // and optionally a shorter one shared more widely (the system prompt without the directory
  // line), which a prompt whose longer prefix is new starts from. 0 = no prefix caching.
  size_t cacheable_prefix_bytes = 0;
  size_t shared_prefix_bytes = 0;
  const std::atomic<bool>* cancel = nullptr;  // set to true to stop (Ctrl-C)
  // > 0: the answer is that many lines of shell text (the command, then e.g. an explanation):
  // no control characters but the newline ending each line, a first line that is neither empty
  // nor a comment or code fence, and the current line ended by the last allowed token (see
  // backend/line_answer_constraint.h).
  int answer_lines = 0;
};

// Timings of the last request, for benchmarks and the CLI's --verbose / JSON output.
struct InferenceTimings {
  double device_open_ms = 0;  // opening the device (a CUDA context), once per backend
  double prefill_ms = 0;      // prompt tokens that were not in the prefix cache
  double first_token_ms = 0;  // from the call until the first generated piece
  double decode_ms = 0;
  double total_ms = 0;
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;
  int generated_tokens = 0;
};

// Receives generated text piece by piece (complete UTF-8 only). Return false to stop early.
using PieceCallback = std::function<bool(std::string_view piece)>;

class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;

  virtual Result<std::string> infer(std::string_view prompt, const EmbeddedConfig& config) = 0;
  virtual Result<std::string> infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                           const PieceCallback& on_piece) = 0;
  // Both describe the backend's device, so they answer the same before load() as after it.
  virtual ModelVariant variant() const = 0;
  virtual MemoryType memory_type() const = 0;
  virtual Status load() = 0;    // idempotent; maps and validates, no full read
  virtual Status unload() = 0;  // gives the memory back; load() may be called again
  virtual bool is_loaded() const = 0;
  virtual InferenceTimings last_timings() const = 0;
  virtual std::string model_name() const = 0;
  // The device's one-line description (what it runs on), for --verbose; "" where none.
  virtual std::string device_description() const { return ""; }
};

}  // namespace cmdai
