#include "model/hparams.h"

#include <cmath>

namespace cmdai::model {
namespace {

// Limits far above any model cmdai targets; they stop absurd values from sizing allocations.
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxDim = 1 << 17;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxContext = 1 << 24;
constexpr int64_t kMaxVocab = 1 << 22;

Status check_range(const gguf::GgufFile& file, const std::string& key, int64_t value, int64_t lo,
                   int64_t hi) {
  if (value < lo || value > hi) {
    return make_error(ErrorCode::kCorruptFile,
                      "{}: {} = {} is outside the supported range [{}, {}]", file.path(), key,
                      value, lo, hi);
  }
  return ok_status();
}

Result<Architecture> parse_architecture(const gguf::GgufFile& file, const std::string& name) {
  if (name == "llama") return Architecture::kLlama;
  if (name == "qwen2") return Architecture::kQwen2;
  if (name.empty()) {
    return make_error(ErrorCode::kCorruptFile, "{}: general.architecture is missing", file.path());
  }
  return make_error(ErrorCode::kUnsupported,
                    "{}: architecture '{}' is not supported (cmdai runs llama and qwen2)",
                    file.path(), name);
}

Status check_consistency(const gguf::GgufFile& file, const HParams& hp) {
  const std::string& a = hp.arch_name;
  if (hp.hidden_dim % hp.n_heads != 0) {
    return make_error(
        ErrorCode::kCorruptFile,
        "{}: {}.embedding_length = {} is not divisible by {}.attention.head_count = {}",
        file.path(), a, hp.hidden_dim, a, hp.n_heads);
  }
  if (hp.n_heads % hp.n_kv_heads != 0) {
    return make_error(ErrorCode::kCorruptFile,
                      "{}: {}.attention.head_count = {} is not divisible by "
                      "{}.attention.head_count_kv = {}",
                      file.path(), a, hp.n_heads, a, hp.n_kv_heads);
  }
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    return make_error(ErrorCode::kCorruptFile,
                      "{}: {}.rope.dimension_count = {} must be even and in [2, head_dim = {}]",
                      file.path(), a, hp.n_rot, hp.head_dim);
  }
  if (!(hp.rope_freq_base > 0.0f) || !std::isfinite(hp.rope_freq_base)) {
    return make_error(ErrorCode::kCorruptFile, "{}: {}.rope.freq_base = {} must be positive",
                      file.path(), a, hp.rope_freq_base);
  }
  if (!(hp.rms_eps > 0.0f) || hp.rms_eps > 0.1f) {
    return make_error(ErrorCode::kCorruptFile,
                      "{}: {}.attention.layer_norm_rms_epsilon = {} must be in (0, 0.1]",
                      file.path(), a, hp.rms_eps);
  }
  return ok_status();
}

}  // namespace

Result<HParams> read_hparams(const gguf::GgufFile& file) {
  HParams hp;
  hp.arch_name = file.architecture();
  CMDAI_ASSIGN_OR_RETURN(hp.arch, parse_architecture(file, hp.arch_name));
  const std::string p = hp.arch_name + ".";

  CMDAI_ASSIGN_OR_RETURN(hp.n_layers, file.get_int(p + "block_count"));
  CMDAI_TRY(check_range(file, p + "block_count", hp.n_layers, 1, kMaxLayers));
  CMDAI_ASSIGN_OR_RETURN(hp.hidden_dim, file.get_int(p + "embedding_length"));
  CMDAI_TRY(check_range(file, p + "embedding_length", hp.hidden_dim, 1, kMaxDim));
  CMDAI_ASSIGN_OR_RETURN(hp.n_heads, file.get_int(p + "attention.head_count"));
  CMDAI_TRY(check_range(file, p + "attention.head_count", hp.n_heads, 1, kMaxHeads));
  CMDAI_ASSIGN_OR_RETURN(hp.n_kv_heads, file.get_int_or(p + "attention.head_count_kv", hp.n_heads));
  CMDAI_TRY(check_range(file, p + "attention.head_count_kv", hp.n_kv_heads, 1, hp.n_heads));
  CMDAI_ASSIGN_OR_RETURN(hp.ffn_dim, file.get_int(p + "feed_forward_length"));
  CMDAI_TRY(check_range(file, p + "feed_forward_length", hp.ffn_dim, 1, 8 * kMaxDim));
  CMDAI_ASSIGN_OR_RETURN(hp.context_length, file.get_int(p + "context_length"));
  CMDAI_TRY(check_range(file, p + "context_length", hp.context_length, 1, kMaxContext));
  hp.head_dim = hp.hidden_dim / hp.n_heads;
  CMDAI_ASSIGN_OR_RETURN(hp.n_rot, file.get_int_or(p + "rope.dimension_count", hp.head_dim));
  CMDAI_ASSIGN_OR_RETURN(double freq_base, file.get_float_or(p + "rope.freq_base", 10000.0));
  hp.rope_freq_base = static_cast<float>(freq_base);
  CMDAI_ASSIGN_OR_RETURN(double eps, file.get_float(p + "attention.layer_norm_rms_epsilon"));
  hp.rms_eps = static_cast<float>(eps);
  CMDAI_TRY(check_consistency(file, hp));

  CMDAI_ASSIGN_OR_RETURN(const gguf::TensorInfo* embd, file.tensor("token_embd.weight"));
  hp.vocab_size = embd->ne.size() >= 2 ? embd->ne[1] : 0;
  CMDAI_TRY(check_range(file, "token_embd.weight rows (vocab size)", hp.vocab_size, 1, kMaxVocab));
  return hp;
}

}  // namespace cmdai::model
