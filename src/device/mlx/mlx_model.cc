#include "device/mlx/mlx_model.h"

#include <mlx/mlx.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "device/mlx/mlx_kv.h"
#include "device/mlx/mlx_weights.h"
#include "quant/dequantize.h"

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;
using device::ForwardPass;
using device::ModelSpec;

// The mapped cache, counted in the device's memory while anything holds it. Only the arrays hold
// it after load: where MLX wraps the mapping without a copy (Metal), for the model's life; where
// it copies (its CPU backend has no such wrapping), only until the copy is made, and then the
// mapping goes and MLX's own counters see the weights.
std::shared_ptr<const WeightCache> counted(std::shared_ptr<WeightCache> cache,
                                           std::shared_ptr<std::atomic<size_t>> counter) {
  struct Counted {
    std::shared_ptr<WeightCache> cache;
    std::shared_ptr<std::atomic<size_t>> counter;
    ~Counted() { *counter -= cache->size_bytes(); }
  };
  *counter += cache->size_bytes();
  auto holder = std::make_shared<Counted>();
  holder->cache = std::move(cache);
  holder->counter = std::move(counter);
  return std::shared_ptr<const WeightCache>(holder, holder->cache.get());
}

class MlxModel final : public device::DeviceModel {
 public:
  MlxModel(const ModelSpec& spec, MlxModelContext context)
      : spec_(spec), context_(std::move(context)), thread_(std::make_shared<MlxThread>()) {}
  ~MlxModel() override {
    (void)thread_->run("freeing the weights", [this] {
      weights_.reset();
      mx::clear_cache();  // give the allocator's freed buffers back to the system (CR-MLX-009)
      return ok_status();
    });
  }

  Status load() {
    std::shared_ptr<const WeightCache> cache;
    if (!context_.weight_cache_dir.empty()) {
      // A folder that cannot be written costs the repacking at every load, not the load.
      auto opened = WeightCache::open_or_build(context_.weight_cache_dir, spec_);
      if (opened.ok()) cache = counted(std::move(opened).value(), context_.mapped_bytes);
    }
    return thread_->run("loading the weights", [&]() -> Status {
      CMDAI_ASSIGN_OR_RETURN(MlxWeights weights, upload_weights(spec_, std::move(cache)));
      weights_ = std::make_unique<MlxWeights>(std::move(weights));
      return ok_status();
    });
  }

  device::KvType kv_type() const override { return device::KvType::kF16; }
  Result<std::unique_ptr<device::KvState>> make_kv(int64_t n_ctx) override {
    if (n_ctx <= 0 || n_ctx > spec_.shape.context_length) {
      return make_error(ErrorCode::kInvalidArgument,
                        "KV cache of {} positions (the model's context is {})", n_ctx,
                        spec_.shape.context_length);
    }
    CMDAI_ASSIGN_OR_RETURN(auto kv, MlxKv::create(thread_, spec_.shape, n_ctx));
    return std::unique_ptr<device::KvState>(std::move(kv));
  }
  size_t weight_bytes() const override { return weights_ ? weights_->bytes : 0; }

  Status forward(const ForwardPass& pass) override {
    auto* kv = dynamic_cast<MlxKv*>(pass.kv);
    if (kv == nullptr || kv->thread() != thread_.get()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the MLX device got a KV cache of another device or model");
    }
    return thread_->run("a forward pass", [&] { return forward_here(pass, *kv); });
  }

 private:
  mx::array embed(std::span<const int32_t> tokens) const;
  mx::array attention(const MlxLayer& layer, const mx::array& h, int32_t pos, MlxKv& kv,
                      int64_t l) const;
  Status forward_here(const ForwardPass& pass, MlxKv& kv);

  const ModelSpec& spec_;
  MlxModelContext context_;
  std::shared_ptr<MlxThread> thread_;
  std::unique_ptr<MlxWeights> weights_;
};

// The tokens' embedding rows, dequantized on the host from the mapped file: [1, n, hidden_dim].
mx::array MlxModel::embed(std::span<const int32_t> tokens) const {
  const device::WeightMatrix& table = spec_.token_embd;
  const int n = static_cast<int>(tokens.size()), hidden = static_cast<int>(table.cols);
  mx::allocator::Buffer buffer = mx::allocator::malloc(static_cast<size_t>(n) * hidden * 4);
  auto* rows = static_cast<float*>(buffer.raw_ptr());
  for (int i = 0; i < n; ++i) {
    dequantize_row(table.type, table.data + static_cast<size_t>(tokens[i]) * table.row_bytes,
                   rows + static_cast<size_t>(i) * hidden, hidden);
  }
  return mx::array(buffer, {1, n, hidden}, mx::float32);
}

// Grouped-query attention of one layer over the cache, the new keys and values written first.
// h: [1, n, hidden_dim] -> [1, n, q_dim].
mx::array MlxModel::attention(const MlxLayer& layer, const mx::array& h, int32_t pos, MlxKv& kv,
                              int64_t l) const {
  const device::TransformerShape& s = spec_.shape;
  const int n = h.shape(1), head_dim = static_cast<int>(s.head_dim);
  const auto project = [&](const MlxMatrix& m, const std::optional<mx::array>& bias, int heads) {
    mx::array y = linear(h, m);  // [1, n, heads * head_dim]
    if (bias) y = mx::add(y, *bias);
    return mx::transpose(mx::reshape(y, {1, n, heads, head_dim}), {0, 2, 1, 3});
  };
  // llama rotates adjacent pairs (MLX's "traditional"), qwen2 the two halves.
  const bool traditional = spec_.rope_style == device::RopeStyle::kAdjacentPairs;
  const int n_rot = static_cast<int>(s.n_rot);
  mx::array q = project(layer.attn_q, layer.attn_q_bias, static_cast<int>(s.n_heads));
  mx::array k = project(layer.attn_k, layer.attn_k_bias, static_cast<int>(s.n_kv_heads));
  mx::array v = project(layer.attn_v, layer.attn_v_bias, static_cast<int>(s.n_kv_heads));
  q = mx::fast::rope(q, n_rot, traditional, s.rope_freq_base, 1.0f, pos);  // [1, n_heads, n, hd]
  k = mx::fast::rope(k, n_rot, traditional, s.rope_freq_base, 1.0f, pos);  // [1, n_kv, n, hd]
  kv.write(l, pos, k, v);
  // "causal" aligns the mask to the last query: query i sees keys 0 .. pos + i.
  mx::array o = mx::fast::scaled_dot_product_attention(
      q, kv.keys(l, pos + n), kv.values(l, pos + n), 1.0f / std::sqrt(static_cast<float>(head_dim)),
      n > 1 ? "causal" : "");
  return mx::reshape(mx::transpose(o, {0, 2, 1, 3}), {1, n, static_cast<int>(s.q_dim())});
}

Status MlxModel::forward_here(const ForwardPass& pass, MlxKv& kv) {
  if (!context_.fault->empty()) {
    // A real MLX failure (an impossible reshape throws), so the fault crosses the same boundary
    // a failing MLX kernel would.
    try {
      mx::eval(mx::reshape(mx::zeros({3}), {2}));
    } catch (const std::exception& e) {
      throw std::runtime_error(*context_.fault + " (injected: " + e.what() + ")");
    }
  }
  const device::TransformerShape& s = spec_.shape;
  const float eps = s.rms_eps;
  const int n = static_cast<int>(pass.tokens.size());
  mx::array x = embed(pass.tokens);  // [1, n, hidden_dim] residual stream
  for (size_t l = 0; l < weights_->layers.size(); ++l) {
    const MlxLayer& layer = weights_->layers[l];
    mx::array h = mx::fast::rms_norm(x, layer.attn_norm, eps);
    x = mx::add(
        x, linear(attention(layer, h, pass.pos, kv, static_cast<int64_t>(l)), layer.attn_output));
    h = mx::fast::rms_norm(x, layer.ffn_norm, eps);
    const mx::array gate = linear(h, layer.ffn_gate);  // [1, n, ffn_dim]
    const mx::array up = linear(h, layer.ffn_up);
    const mx::array act = mx::multiply(mx::multiply(gate, mx::sigmoid(gate)), up);  // SwiGLU
    x = mx::add(x, linear(act, layer.ffn_down));
  }
  std::vector<mx::array> outputs = kv.arrays();
  if (pass.logits != nullptr) {
    if (!pass.all_rows && n > 1) {
      x = mx::slice(x, {0, n - 1, 0}, {1, n, static_cast<int>(s.hidden_dim)});
    }
    x = mx::fast::rms_norm(x, weights_->output_norm, eps);
    outputs.push_back(mx::astype(linear(x, weights_->output), mx::float32));  // [1, rows, vocab]
  }
  mx::eval(outputs);
  if (pass.logits != nullptr) {
    const mx::array logits = mx::contiguous(outputs.back());
    mx::eval(logits);
    std::memcpy(pass.logits, logits.data<float>(), logits.nbytes());
  }
  kv.set_filled(pass.pos + n);
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<device::DeviceModel>> load_mlx_model(const ModelSpec& spec,
                                                            MlxModelContext context) {
  auto model = std::make_unique<MlxModel>(spec, std::move(context));
  CMDAI_TRY(model->load());
  return std::unique_ptr<device::DeviceModel>(std::move(model));
}

}  // namespace cmdai::mlx_device
