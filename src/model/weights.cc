#include "model/weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace cmdai::model {
namespace {

// ggml lists trailing dimensions of 1 or not depending on the writer; compare without them.
bool same_shape(const std::vector<int64_t>& ne, const std::vector<int64_t>& expected) {
  if (ne.size() < expected.size()) return false;
  for (size_t i = 0; i < ne.size(); ++i) {
    const int64_t want = i < expected.size() ? expected[i] : 1;
    if (ne[i] != want) return false;
  }
  return true;
}

Result<const gguf::TensorInfo*> find_checked(const gguf::GgufFile& file, const std::string& name,
                                             const std::vector<int64_t>& expected) {
  const gguf::TensorInfo* info = file.find_tensor(name);
  // A tensor the architecture requires is missing: the file is not a usable model (exit 7 in
  // every command), not a missing file.
  if (info == nullptr) {
    return make_error(ErrorCode::kCorruptFile, "{}: the model has no tensor '{}', which {} needs",
                      file.path(), name, file.architecture());
  }
  if (!same_shape(info->ne, expected)) {
    return make_error(ErrorCode::kCorruptFile,
                      "{}: tensor '{}' has shape [{}] but the architecture needs [{}]: wrong "
                      "shapes for the architecture",
                      file.path(), name, fmt::join(info->ne, ", "), fmt::join(expected, ", "));
  }
  return info;
}

Result<device::WeightMatrix> matrix(const gguf::GgufFile& file, const std::string& name,
                                    int64_t rows, int64_t cols) {
  CMDAI_ASSIGN_OR_RETURN(const gguf::TensorInfo* info, find_checked(file, name, {cols, rows}));
  if (!traits_of(info->type).has_kernels) {
    return make_error(ErrorCode::kUnsupported,
                      "{}: tensor '{}' has type {}, which cmdai cannot compute with yet; use a "
                      "file quantized as F32, F16, Q8_0, Q4_K or Q6_K",
                      file.path(), name, type_name(info->type));
  }
  return device::WeightMatrix{info->type, rows, cols, info->data, info->row_size_bytes()};
}

Result<const float*> vector(const gguf::GgufFile& file, const std::string& name, int64_t n) {
  CMDAI_ASSIGN_OR_RETURN(const gguf::TensorInfo* info, find_checked(file, name, {n}));
  if (info->type != TensorType::kF32) {
    return make_error(ErrorCode::kUnsupported, "{}: tensor '{}' has type {}; cmdai needs f32 here",
                      file.path(), name, type_name(info->type));
  }
  return reinterpret_cast<const float*>(info->data);
}

// A bias is bound when present; `required` turns its absence into the lookup's kNotFound.
Result<const float*> bias(const gguf::GgufFile& file, const std::string& name, int64_t n,
                          bool required) {
  if (!required && file.find_tensor(name) == nullptr) return static_cast<const float*>(nullptr);
  return vector(file, name, n);
}

Result<device::LayerTensors> bind_layer(const gguf::GgufFile& file, const HParams& hp,
                                        int64_t layer, const BindOptions& options) {
  const std::string p = fmt::format("blk.{}.", layer);
  const bool need_bias = options.require_qkv_bias;
  device::LayerTensors w;
  CMDAI_ASSIGN_OR_RETURN(w.attn_norm, vector(file, p + "attn_norm.weight", hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.attn_q, matrix(file, p + "attn_q.weight", hp.q_dim(), hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.attn_k, matrix(file, p + "attn_k.weight", hp.kv_dim(), hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.attn_v, matrix(file, p + "attn_v.weight", hp.kv_dim(), hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.attn_q_bias, bias(file, p + "attn_q.bias", hp.q_dim(), need_bias));
  CMDAI_ASSIGN_OR_RETURN(w.attn_k_bias, bias(file, p + "attn_k.bias", hp.kv_dim(), need_bias));
  CMDAI_ASSIGN_OR_RETURN(w.attn_v_bias, bias(file, p + "attn_v.bias", hp.kv_dim(), need_bias));
  CMDAI_ASSIGN_OR_RETURN(w.attn_output,
                         matrix(file, p + "attn_output.weight", hp.hidden_dim, hp.q_dim()));
  CMDAI_ASSIGN_OR_RETURN(w.ffn_norm, vector(file, p + "ffn_norm.weight", hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.ffn_gate,
                         matrix(file, p + "ffn_gate.weight", hp.ffn_dim, hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.ffn_up, matrix(file, p + "ffn_up.weight", hp.ffn_dim, hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(w.ffn_down,
                         matrix(file, p + "ffn_down.weight", hp.hidden_dim, hp.ffn_dim));
  return w;
}

}  // namespace

Status bind_weights(const gguf::GgufFile& file, const HParams& hp, const BindOptions& options,
                    device::ModelSpec* spec) {
  CMDAI_ASSIGN_OR_RETURN(spec->token_embd,
                         matrix(file, "token_embd.weight", hp.vocab_size, hp.hidden_dim));
  CMDAI_ASSIGN_OR_RETURN(spec->output_norm, vector(file, "output_norm.weight", hp.hidden_dim));
  spec->tied_output = file.find_tensor("output.weight") == nullptr;
  if (spec->tied_output) {
    spec->output = spec->token_embd;
  } else {
    CMDAI_ASSIGN_OR_RETURN(spec->output,
                           matrix(file, "output.weight", hp.vocab_size, hp.hidden_dim));
  }
  spec->layers.clear();
  spec->layers.reserve(static_cast<size_t>(hp.n_layers));
  for (int64_t layer = 0; layer < hp.n_layers; ++layer) {
    CMDAI_ASSIGN_OR_RETURN(device::LayerTensors lw, bind_layer(file, hp, layer, options));
    spec->layers.push_back(lw);
  }
  return ok_status();
}

}  // namespace cmdai::model
