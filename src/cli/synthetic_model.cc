#include "cli/synthetic_model.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/thread_pool.h"
#include "engine/sampler.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/quantize.h"

namespace cmdai::cli {
namespace {

// Normal samples (Box-Muller) from the engine's platform-independent generator, so a seed gives
// the same file everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  float normal(float mean, float std) {
    const double u1 = std::max(rng_.uniform(), 1e-300);
    const double u2 = rng_.uniform();
    return mean + std * static_cast<float>(std::sqrt(-2.0 * std::log(u1)) *
                                           std::cos(6.283185307179586 * u2));
  }

 private:
  engine::Rng rng_;
};

// llama.cpp's Q4_K_M mix, as facts: attn_v and ffn_down get 6-bit blocks in the first and last
// eighth of the layers and every third layer between; a tied embedding (the output) gets q6_K.
bool q4km_more_bits(int64_t layer, int64_t n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

TensorType weight_type(const std::string& quant, const std::string& name, int64_t layer,
                       int64_t n_layers) {
  if (quant == "f16") return TensorType::kF16;
  if (quant == "q8_0") return TensorType::kQ8_0;
  if (name == "token_embd.weight") return TensorType::kQ6_K;
  const bool more = name.find("attn_v.weight") != std::string::npos ||
                    name.find("ffn_down.weight") != std::string::npos;
  return more && q4km_more_bits(layer, n_layers) ? TensorType::kQ6_K : TensorType::kQ4_K;
}

// Each row draws from its own stream (seed, tensor, row), so rows can be made in parallel and the
// file is the same whatever the thread count.
std::vector<uint8_t> random_matrix(uint64_t seed, uint64_t tensor_index, TensorType type,
                                   int64_t rows, int64_t cols, float std, ThreadPool& pool) {
  const size_t row_size = *row_bytes(type, cols);
  std::vector<uint8_t> data(row_size * rows);
  pool.parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        std::vector<float> row(cols);
        for (int64_t r = begin; r < end; ++r) {
          Random rng(seed * 0x9e3779b97f4a7c15ull + (tensor_index << 40) +
                     static_cast<uint64_t>(r));
          for (auto& x : row) x = rng.normal(0.0f, std);
          quantize_row(type, row.data(), data.data() + r * row_size, cols);
        }
      },
      16);
  return data;
}

std::vector<uint8_t> random_vector(Random& rng, int64_t n, float mean, float std) {
  std::vector<uint8_t> data(n * sizeof(float));
  for (int64_t i = 0; i < n; ++i) {
    const float x = rng.normal(mean, std);
    std::memcpy(data.data() + i * sizeof(float), &x, sizeof x);
  }
  return data;
}

// Without --vocab-from: one token per byte (GPT-2 byte-to-unicode spelling) plus ChatML tokens.
int64_t write_byte_vocab(gguf::GgufWriter& writer) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  int next_unprintable = 0;  // bytes without a printable spelling map to U+0100, U+0101, ...
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    const int cp = printable ? b : 256 + next_unprintable++;
    std::string spelling;
    if (cp < 0x80) {
      spelling += static_cast<char>(cp);
    } else {
      spelling += static_cast<char>(0xc0 | (cp >> 6));
      spelling += static_cast<char>(0x80 | (cp & 0x3f));
    }
    tokens.push_back(spelling);
    types.push_back(1);
  }
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    tokens.emplace_back(special);
    types.push_back(3);
  }
  writer.set_string("tokenizer.ggml.model", "gpt2");
  writer.set_string("tokenizer.ggml.pre", "qwen2");
  writer.set_string_array("tokenizer.ggml.tokens", tokens);
  writer.set_i32_array("tokenizer.ggml.token_type", types);
  writer.set_string_array("tokenizer.ggml.merges", {});
  writer.set_u32("tokenizer.ggml.bos_token_id", 256);
  writer.set_u32("tokenizer.ggml.eos_token_id", 258);
  writer.set_u32("tokenizer.ggml.padding_token_id", 256);
  writer.set_bool("tokenizer.ggml.add_bos_token", false);
  return static_cast<int64_t>(tokens.size());
}

Result<int64_t> copy_vocab(gguf::GgufWriter& writer, const std::string& path) {
  CMDAI_ASSIGN_OR_RETURN(auto source, gguf::GgufFile::open(path));
  int64_t vocab_size = 0;
  for (const auto& entry : source.metadata()) {
    if (entry.key.rfind("tokenizer.", 0) != 0) continue;
    writer.set_value(entry.key, entry.value);
    if (entry.key == "tokenizer.ggml.tokens") vocab_size = static_cast<int64_t>(entry.value.count);
  }
  if (vocab_size == 0) {
    return make_error(ErrorCode::kInvalidArgument, "'{}' has no tokenizer.ggml.tokens to copy",
                      path);
  }
  return vocab_size;
}

}  // namespace

std::optional<SynthShape> find_synth_shape(const std::string& name) {
  if (name == "tiny") return SynthShape{"tiny", 2, 256, 4, 2, 512, 2048, 1e6f, 1e-6f};
  if (name == "qwen2.5-coder-1.5b") {
    return SynthShape{"qwen2.5-coder-1.5b", 28, 1536, 12, 2, 8960, 32768, 1e6f, 1e-6f};
  }
  if (name == "qwen2.5-coder-0.5b") {
    return SynthShape{"qwen2.5-coder-0.5b", 24, 896, 14, 2, 4864, 32768, 1e6f, 1e-6f};
  }
  return std::nullopt;
}

Result<SynthSummary> write_synthetic_model(const SynthOptions& o) {
  const SynthShape& s = o.shape;
  if (o.quant != "f16" && o.quant != "q8_0" && o.quant != "q4_k_m") {
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown quantization '{}' (use f16, q8_0 or q4_k_m)", o.quant);
  }
  if (s.n_layers <= 0 || s.hidden_dim <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 ||
      s.ffn_dim <= 0 || s.hidden_dim % s.n_heads != 0 || s.n_heads % s.n_kv_heads != 0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "impossible shape: hidden_dim {} must divide into n_heads {}, which must divide into "
        "n_kv_heads {}",
        s.hidden_dim, s.n_heads, s.n_kv_heads);
  }
  const int64_t block = o.quant == "q4_k_m" ? 256 : (o.quant == "q8_0" ? 32 : 1);
  if (s.hidden_dim % block != 0 || s.ffn_dim % block != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "{} needs hidden_dim and ffn_dim that are multiples of {}", o.quant, block);
  }
  gguf::GgufWriter writer;
  writer.set_string("general.architecture", "qwen2");
  writer.set_string("general.name", fmt::format("synthetic {} {} (random weights, seed {})", s.name,
                                                o.quant, o.seed));
  writer.set_u32("general.file_type", o.quant == "f16" ? 1 : (o.quant == "q8_0" ? 7 : 15));
  writer.set_u32("general.quantization_version", 2);
  writer.set_u32("qwen2.block_count", static_cast<uint32_t>(s.n_layers));
  writer.set_u32("qwen2.context_length", static_cast<uint32_t>(s.context_length));
  writer.set_u32("qwen2.embedding_length", static_cast<uint32_t>(s.hidden_dim));
  writer.set_u32("qwen2.feed_forward_length", static_cast<uint32_t>(s.ffn_dim));
  writer.set_u32("qwen2.attention.head_count", static_cast<uint32_t>(s.n_heads));
  writer.set_u32("qwen2.attention.head_count_kv", static_cast<uint32_t>(s.n_kv_heads));
  writer.set_f32("qwen2.rope.freq_base", s.rope_freq_base);
  writer.set_f32("qwen2.attention.layer_norm_rms_epsilon", s.rms_eps);
  int64_t vocab_size = 0;
  if (o.vocab_from.empty()) {
    vocab_size = write_byte_vocab(writer);
  } else {
    CMDAI_ASSIGN_OR_RETURN(vocab_size, copy_vocab(writer, o.vocab_from));
  }

  Random rng(o.seed);
  ThreadPool pool(0);
  uint64_t tensor_index = 0;
  SynthSummary summary;
  summary.vocab_size = vocab_size;
  const int64_t h = s.hidden_dim;
  const int64_t kv_dim = s.n_kv_heads * (h / s.n_heads);
  auto add_matrix = [&](const std::string& name, int64_t layer, int64_t rows, int64_t cols) {
    const TensorType type = weight_type(o.quant, name, layer, s.n_layers);
    const float std = 1.0f / std::sqrt(static_cast<float>(cols));
    writer.add_tensor(name, type, {cols, rows},
                      random_matrix(o.seed, ++tensor_index, type, rows, cols, std, pool));
    summary.n_params += rows * cols;
  };
  auto add_vector = [&](const std::string& name, int64_t n, float mean, float std) {
    writer.add_tensor(name, TensorType::kF32, {n}, random_vector(rng, n, mean, std));
    summary.n_params += n;
  };
  add_matrix("token_embd.weight", -1, vocab_size, h);  // tied: also the output matrix
  add_vector("output_norm.weight", h, 1.0f, 0.1f);
  for (int64_t i = 0; i < s.n_layers; ++i) {
    const std::string p = fmt::format("blk.{}.", i);
    add_vector(p + "attn_norm.weight", h, 1.0f, 0.1f);
    add_matrix(p + "attn_q.weight", i, h, h);
    add_vector(p + "attn_q.bias", h, 0.0f, 0.02f);
    add_matrix(p + "attn_k.weight", i, kv_dim, h);
    add_vector(p + "attn_k.bias", kv_dim, 0.0f, 0.02f);
    add_matrix(p + "attn_v.weight", i, kv_dim, h);
    add_vector(p + "attn_v.bias", kv_dim, 0.0f, 0.02f);
    add_matrix(p + "attn_output.weight", i, h, h);
    add_vector(p + "ffn_norm.weight", h, 1.0f, 0.1f);
    add_matrix(p + "ffn_gate.weight", i, s.ffn_dim, h);
    add_matrix(p + "ffn_up.weight", i, s.ffn_dim, h);
    add_matrix(p + "ffn_down.weight", i, h, s.ffn_dim);
  }
  CMDAI_TRY(writer.write(o.out_path));
  std::error_code ec;
  summary.file_size_bytes = std::filesystem::file_size(o.out_path, ec);
  return summary;
}

}  // namespace cmdai::cli
