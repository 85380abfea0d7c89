#include "device/mlx/mlx_model.h"

#include <mlx/mlx.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "device/mlx/decode_step.h"
#include "device/mlx/mlx_forward.h"
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
      decode_.reset();  // its traces hold the weights
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
      if (context_.compile->active()) decode_ = std::make_unique<CompiledDecode>(spec_, *weights_);
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
  Status forward_here(const ForwardPass& pass, MlxKv& kv);
  // Prefill, and decode when the step is not compiled: one graph, its positions fixed in it.
  Status forward_eager(mx::array x, const ForwardPass& pass, MlxKv& kv);
  // One token through the compiled step (decode_step.h); uncompiled from then on if it fails.
  Status decode_compiled(const mx::array& x, const ForwardPass& pass, MlxKv& kv);

  const ModelSpec& spec_;
  MlxModelContext context_;
  std::shared_ptr<MlxThread> thread_;
  std::unique_ptr<MlxWeights> weights_;
  std::unique_ptr<CompiledDecode> decode_;  // null when the step is not compiled
  std::set<int64_t> proven_sizes_;          // cache rows whose compiled step has run
};

// Logits [1, rows, vocab_size] float32 into host memory.
void copy_logits(const mx::array& logits, float* out) {
  const mx::array rows = mx::contiguous(logits);
  mx::eval(rows);
  std::memcpy(out, rows.data<float>(), rows.nbytes());
}

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
  const mx::array x = embed(pass.tokens);  // [1, n, hidden_dim] residual stream
  if (pass.tokens.size() == 1 && pass.logits != nullptr && decode_ && context_.compile->active()) {
    return decode_compiled(x, pass, kv);
  }
  return forward_eager(x, pass, kv);
}

Status MlxModel::forward_eager(mx::array x, const ForwardPass& pass, MlxKv& kv) {
  const int n = static_cast<int>(pass.tokens.size());
  PassPositions at;
  at.pos = pass.pos;
  x = decoder_layers(spec_, *weights_, x, at, kv.k(), kv.v());
  std::vector<mx::array> outputs = kv.arrays();
  if (pass.logits != nullptr) {
    if (!pass.all_rows && n > 1) {
      x = mx::slice(x, {0, n - 1, 0}, {1, n, static_cast<int>(spec_.shape.hidden_dim)});
    }
    outputs.push_back(output_logits(spec_, *weights_, x));  // [1, rows, vocab_size]
  }
  mx::eval(outputs);
  if (pass.logits != nullptr) copy_logits(outputs.back(), pass.logits);
  kv.set_filled(pass.pos + n);
  return ok_status();
}

// The first compiled step of each cache length builds its trace's kernels (on MLX's CPU backend by
// running a C++ compiler). Until that step has run the old caches are kept, so when it fails they
// are still whole: the device stops compiling and the step runs again uncompiled.
Status MlxModel::decode_compiled(const mx::array& x, const ForwardPass& pass, MlxKv& kv) {
  const bool first = !proven_sizes_.contains(kv.rows());
  std::vector<mx::array> kept_k, kept_v;
  if (first) {
    kept_k = kv.k();
    kept_v = kv.v();
  }
  try {
    std::vector<mx::array> outputs = {decode_->step(x, pass.pos, kv.k(), kv.v())};
    const std::vector<mx::array> caches = kv.arrays();
    outputs.insert(outputs.end(), caches.begin(), caches.end());
    mx::eval(outputs);
    copy_logits(outputs.front(), pass.logits);
  } catch (const std::bad_alloc&) {
    throw;  // out of memory, not out of a compiler: guard_mlx says so
  } catch (const std::exception& e) {
    const std::string message = e.what();
    if (!first || message.find("[malloc]") != std::string::npos) throw;
    mx::synchronize();  // work queued before the failure ends before the caches are reused
    kv.k() = std::move(kept_k);
    kv.v() = std::move(kept_v);
    context_.compile->record_failure(message);
    decode_.reset();
    return forward_eager(x, pass, kv);
  }
  proven_sizes_.insert(kv.rows());
  kv.set_filled(pass.pos + 1);
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
