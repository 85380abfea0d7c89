// The embedded InferenceBackend, the same for every device: the model file mapped, its weights on
// the device the backend holds (CPU, CUDA, MLX), one generator whose KV cache keeps the last
// prompt so a shared prefix (the system prompt) is not computed again, and that prefix's KV state
// persisted on disk for the next process. Variant, memory type and faults come from the device.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backend/inference_backend.h"
#include "backend/line_answer_constraint.h"
#include "device/device.h"
#include "engine/generator.h"
#include "engine/model_loader.h"
#include "gguf/gguf_file.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace cmdai {

struct BackendOptions {
  std::string model_path;
  std::string backend = "auto";  // the device: auto, cpu, cuda or mlx
  int threads = 0;               // CPU threads; 0 = one per core
  model::Precision precision = model::Precision::kFast;
  std::string prefix_cache_dir;  // where prompt-prefix KV files live; "" = none
};

class EmbeddedBackend : public InferenceBackend {
 public:
  static constexpr size_t kMaxPrefixFiles = 16;

  // Opens the device options.backend names (kPlatformUnsupported saying why it cannot run here);
  // the model is loaded on first use or by load().
  static Result<std::unique_ptr<EmbeddedBackend>> create(BackendOptions options);
  EmbeddedBackend(BackendOptions options, std::unique_ptr<device::Device> device);
  ~EmbeddedBackend() override;

  Result<std::string> infer(std::string_view prompt, const EmbeddedConfig& config) override;
  Result<std::string> infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                   const PieceCallback& on_piece) override;
  ModelVariant variant() const override;
  MemoryType memory_type() const override;
  Status load() override;
  Status unload() override;
  bool is_loaded() const override;
  InferenceTimings last_timings() const override;
  std::string model_name() const override;

  // CR-MLX-006: makes the next requests fail as a fault of the device would (`what` names it),
  // so tests can prove that device errors surface as errors naming the device. "" turns it off.
  void inject_device_fault(std::string what);
  // The device's one-line description (doctor, bench, --verbose).
  std::string device_description() const override;
  device::DeviceMemory device_memory() const;

 private:
  Status load_locked();
  Result<std::string> run_locked(std::string_view prompt, const EmbeddedConfig& config,
                                 const PieceCallback& on_piece);
  // Puts the KV state of the longest cached prefix in place: already in memory, else the file of
  // the longest prefix, else that of the shared one (token counts; 0 = none).
  void restore_prefix_locked(const std::vector<int32_t>& prompt_tokens, size_t longest,
                             size_t shared);
  bool restore_prefix_file_locked(const std::vector<int32_t>& prompt_tokens, size_t prefix_tokens);
  void persist_prefix_locked(const std::vector<int32_t>& prompt_tokens, size_t prefix_tokens);
  // Keeps the newest kMaxPrefixFiles cache files with this extension: .kv snapshots (a few MB
  // each: the shared head, and the head with the directory line of each directory recently
  // worked in), .lc constraint tables and .ti tokenizer indexes (one per model file).
  void prune_cache_files_locked(std::string_view extension) const;
  // The model file's identity in cache keys: its path, size and mtime, as load found them (kept
  // in model_file_key_, so every cache file of a load names the weights that were mapped).
  uint64_t model_file_key() const;
  // <prefix_cache_dir>/<model file key><extension>, or "" without a cache directory: .lc (the
  // line constraint's table) and .ti (the tokenizer's text index and merges, ~4 MB for Qwen).
  std::string cache_file_locked(std::string_view extension) const;
  // <prefix_cache_dir>/<key>.kv, keyed by the model file, precision and tokens.
  std::string prefix_file_locked(const std::vector<int32_t>& prompt_tokens,
                                 size_t prefix_tokens) const;
  // The line constraint, built on first use per load: read from <prefix_cache_dir>/<key>.lc
  // (keyed by the model file; ~150 KB) when intact, else classified (~8 ms) and written there.
  LineAnswerConstraint& line_constraint_locked();

  BackendOptions options_;
  mutable std::mutex mutex_;  // one request at a time: the model's buffers and cache are shared
  std::unique_ptr<device::Device> device_;
  engine::LoadedModel loaded_;  // the mapped file and the model on the device
  std::optional<tokenizer::Tokenizer> tokenizer_;
  std::unique_ptr<engine::Generator> generator_;
  std::unique_ptr<LineAnswerConstraint> line_constraint_;  // see line_constraint_locked()
  double device_open_ms_ = 0;                              // set by create()
  uint64_t model_file_key_ = 0;                            // set by load_locked()
  InferenceTimings timings_;
  std::string fault_;
};

// The embedded backend on the device options.backend names. cuda and mlx return
// kPlatformUnsupported when this build or machine cannot run them (CR-MLX-001), naming what is
// missing; auto picks the best device present.
Result<std::unique_ptr<InferenceBackend>> create_backend(BackendOptions options);
ModelVariant variant_of(device::DeviceKind kind);

}  // namespace cmdai
