// A loaded decoder-only transformer (llama or qwen2): token ids plus a KV cache in, logits out.
// Prompts go through as one batch of matrix-matrix work; decode steps pass one token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "device/cpu/matmul.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace cmdai::model {

enum class Precision {
  // Like llama.cpp's CPU backend: activations quantized for the matmuls, f16 KV cache, q and
  // attention probabilities rounded to f16.
  kFast,
  // The float reference: f32 activations, double-accumulated matmuls, f32 KV cache, no rounding.
  kExact,
};

enum class LogitsRequest { kLastRow, kAllRows };

// The most tokens one pass of the layers takes at once; longer inputs run in slices.
inline constexpr size_t kMaxBatchTokens = 512;

// Activation buffers of one forward pass, grown to the largest batch seen and then reused.
struct Activations {
  int64_t capacity = 0;     // tokens
  std::vector<float> x;     // [n_tokens, hidden_dim] residual stream
  std::vector<float> xn;    // [n_tokens, hidden_dim] normalized input of a block
  std::vector<float> q;     // [n_tokens, q_dim]
  std::vector<float> k;     // [n_tokens, kv_dim]
  std::vector<float> v;     // [n_tokens, kv_dim]
  std::vector<float> attn;  // [n_tokens, q_dim]
  std::vector<float> proj;  // [n_tokens, hidden_dim] a block's output before the residual add
  std::vector<float> gate;  // [n_tokens, ffn_dim]
  std::vector<float> up;    // [n_tokens, ffn_dim]

  void reserve(const HParams& hp, int64_t n_tokens);
};

class Model {
 public:
  // Binds the weights of `file`, which must stay open while the model lives (zero-copy views).
  // kUnsupported for other architectures or tensor types without kernels.
  static Result<std::unique_ptr<Model>> load(const gguf::GgufFile& file);
  virtual ~Model() = default;

  const HParams& hparams() const { return hp_; }
  const Weights& weights() const { return weights_; }
  Precision precision() const { return precision_; }
  void set_precision(Precision precision) { precision_ = precision; }
  // f16 for kFast, f32 for kExact.
  KvType kv_type() const { return precision_ == Precision::kFast ? KvType::kF16 : KvType::kF32; }
  Result<KvCache> make_cache(int64_t n_ctx) const;

  // Runs tokens at positions pos .. pos + n - 1, appending their keys and values to the cache
  // (pos <= cache.n_filled(); later positions are overwritten). logits receives vocab_size floats
  // for the last row, or n * vocab_size for every row. Not thread-safe: one pass at a time.
  Status forward(std::span<const int32_t> tokens, int32_t pos, KvCache& cache,
                 LogitsRequest request, float* logits, ThreadPool& pool);

 protected:
  Model(HParams hp, Weights weights) : hp_(std::move(hp)), weights_(std::move(weights)) {}

  // One pass over every layer, as the architecture defines it. `a.x` holds the embeddings of
  // n_tokens rows on entry and the final residual stream of `n_out` rows (the last rows when
  // only the last is wanted) on return.
  struct Pass {
    int32_t pos0 = 0;
    int64_t n_tokens = 0;
    bool last_row_only = false;
    KvCache* cache = nullptr;
    ThreadPool* pool = nullptr;
  };
  virtual void run_layers(const Pass& pass) = 0;

  cpu::MatmulPrecision matmul_precision() const {
    return precision_ == Precision::kFast ? cpu::MatmulPrecision::kFast
                                          : cpu::MatmulPrecision::kExact;
  }

  HParams hp_;
  Weights weights_;
  Precision precision_ = Precision::kFast;
  Activations a_;

 private:
  // One slice of forward(); logits may be null when no row of this slice is wanted.
  void run_batch(std::span<const int32_t> tokens, int32_t pos, KvCache& cache, bool last_row_only,
                 float* logits, ThreadPool& pool);
  Status check_request(std::span<const int32_t> tokens, int32_t pos, const KvCache& cache) const;
};

}  // namespace cmdai::model
