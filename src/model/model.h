// A loaded decoder-only transformer (llama or qwen2) on one device: token ids plus a KV cache in,
// logits out. model/ says what the architecture is; the device runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "device/device.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace cmdai::model {

// kFast: like llama.cpp (quantized activations, f16 KV); kExact: the CPU's float reference.
using Precision = device::Numerics;
using device::kMaxBatchTokens;
using device::KvState;
using device::KvType;

enum class LogitsRequest { kLastRow, kAllRows };

// The context a request needs: prompt plus new tokens, capped by the model's context_length.
int64_t kv_context_for(int64_t n_prompt, int64_t max_new_tokens, int64_t context_length);

class Model {
 public:
  // Describes `file`'s architecture and loads its weights onto `device`. The file and the device
  // must outlive the model (the CPU reads the weights in place). kUnsupported for other
  // architectures or tensor types without kernels; the device's own errors otherwise.
  static Result<std::unique_ptr<Model>> load(const gguf::GgufFile& file, device::Device& device);

  const HParams& hparams() const { return hp_; }
  const device::ModelSpec& spec() const { return spec_; }
  device::Device& device() const { return device_; }
  const device::DeviceModel& device_model() const { return *weights_; }
  // The file's content fingerprint (gguf/fingerprint.h), stamped into KV snapshots.
  uint64_t fingerprint() const { return fingerprint_; }

  Precision precision() const { return weights_->numerics(); }
  // kUnsupported where the device has no such path (kExact runs only on the CPU).
  Status set_precision(Precision precision) { return weights_->set_numerics(precision); }
  KvType kv_type() const { return weights_->kv_type(); }
  Result<std::unique_ptr<KvState>> make_cache(int64_t n_ctx);

  // Runs tokens at positions pos .. pos + n - 1, appending their keys and values to the cache
  // (pos <= cache.n_filled(); later positions are overwritten). logits receives vocab_size floats
  // for the last row, or n * vocab_size for every row. Not thread-safe: one pass at a time.
  Status forward(std::span<const int32_t> tokens, int32_t pos, KvState& cache,
                 LogitsRequest request, float* logits);

  // One decode step of independent sequences (device::BatchSlot: token, pos, its own cache); logits
  // receives [slots.size(), vocab_size], each row as forward() gives it for that slot alone.
  Status forward_batch(std::span<const device::BatchSlot> slots, float* logits);

  // The KV state of the first tokens.size() positions as bytes (model/kv_snapshot.h), and back:
  // a state of capacity at least n_ctx on this model's device, *tokens receiving the stored ids
  // (each checked against the vocabulary). A snapshot of another model file, or a damaged one,
  // is refused.
  Result<std::vector<uint8_t>> save_kv(const KvState& cache, std::span<const int32_t> tokens) const;
  Result<std::unique_ptr<KvState>> restore_kv(std::span<const uint8_t> bytes, int64_t n_ctx,
                                              std::vector<int32_t>* tokens);

 private:
  Model(HParams hp, device::Device& device) : hp_(std::move(hp)), device_(device) {}
  Status check_request(std::span<const int32_t> tokens, int32_t pos, const KvState& cache) const;

  HParams hp_;
  device::ModelSpec spec_;
  device::Device& device_;
  std::unique_ptr<device::DeviceModel> weights_;
  uint64_t fingerprint_ = 0;
};

}  // namespace cmdai::model
