// Synthetic models: random weights of a real architecture's shape in any supported quantization,
// optionally with the tokenizer of another GGUF. For tests and benchmarks (speed does not depend
// on weight values); the files also load in llama.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace cmdai::cli {

struct SynthShape {
  std::string name;  // "tiny", "qwen2.5-coder-1.5b"
  int64_t n_layers;
  int64_t hidden_dim;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t ffn_dim;
  int64_t context_length;
  float rope_freq_base;
  float rms_eps;
};

std::optional<SynthShape> find_synth_shape(const std::string& name);

struct SynthOptions {
  SynthShape shape;
  std::string quant = "q4_k_m";  // f16 | q8_0 | q4_k_m
  std::string vocab_from;        // GGUF whose tokenizer.* keys are copied; empty = a byte vocab
  uint64_t seed = 1;
  std::string out_path;
};

struct SynthSummary {
  int64_t n_params = 0;
  int64_t vocab_size = 0;
  uint64_t file_size_bytes = 0;
};

Result<SynthSummary> write_synthetic_model(const SynthOptions& options);

}  // namespace cmdai::cli
