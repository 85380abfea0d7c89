// Transformer hyperparameters read from a GGUF file's `<arch>.*` metadata, validated once so the
// forward pass can trust every size.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "gguf/gguf_file.h"

namespace cmdai::model {

enum class Architecture { kLlama, kQwen2 };

struct HParams {
  Architecture arch = Architecture::kLlama;
  std::string arch_name;  // as spelled in general.architecture
  int64_t n_layers = 0;
  int64_t hidden_dim = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t ffn_dim = 0;
  int64_t vocab_size = 0;
  int64_t n_rot = 0;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;
  int64_t context_length = 0;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
};

// kUnsupported for an architecture other than llama/qwen2; kCorruptFile or kNotFound naming the
// key for missing, mistyped or inconsistent values.
Result<HParams> read_hparams(const gguf::GgufFile& file);

}  // namespace cmdai::model
