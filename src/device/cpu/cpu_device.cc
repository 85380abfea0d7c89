#include "device/cpu/cpu_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <span>
#include <vector>

#include "base/cpu_features.h"
#include "base/thread_pool.h"
#include "device/cpu/kernels.h"
#include "device/cpu/kv_cache.h"
#include "device/cpu/matmul.h"
#include "device/cpu/ops.h"
#include "quant/dequantize.h"

namespace cmdai::cpu {
namespace {

using device::ForwardPass;
using device::KvType;
using device::ModelSpec;
using device::Numerics;
using device::TransformerShape;

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

  void reserve(const TransformerShape& s, int64_t n_tokens) {
    if (n_tokens <= capacity) return;
    auto grow = [&](std::vector<float>& buffer, int64_t row) {
      buffer.resize(static_cast<size_t>(n_tokens * row));
    };
    grow(x, s.hidden_dim);
    grow(xn, s.hidden_dim);
    grow(q, s.q_dim());
    grow(k, s.kv_dim());
    grow(v, s.kv_dim());
    grow(attn, s.q_dim());
    grow(proj, s.hidden_dim);
    grow(gate, s.ffn_dim);
    grow(up, s.ffn_dim);
    capacity = n_tokens;
  }
};

class CpuDevice;

// The pre-norm decoder of ModelSpec, run with the CPU kernels over the mapped weights.
class CpuModel final : public device::DeviceModel {
 public:
  CpuModel(const ModelSpec& spec, ThreadPool& pool, const std::string& fault)
      : spec_(spec), pool_(pool), fault_(fault) {}

  KvType kv_type() const override {
    return numerics_ == Numerics::kFast ? KvType::kF16 : KvType::kF32;
  }
  Result<std::unique_ptr<device::KvState>> make_kv(int64_t n_ctx) override {
    CMDAI_ASSIGN_OR_RETURN(
        auto cache, KvCache::create(spec_.shape.n_layers, n_ctx, spec_.shape.kv_dim(), kv_type()));
    return std::unique_ptr<device::KvState>(std::move(cache));
  }
  Status set_numerics(Numerics numerics) override {
    numerics_ = numerics;
    return ok_status();
  }
  Numerics numerics() const override { return numerics_; }
  size_t weight_bytes() const override { return 0; }  // used in place

  Status forward(const ForwardPass& pass) override;
  Status forward_batch(std::span<const device::BatchSlot> slots, float* logits,
                       int64_t vocab_size) override;

 private:
  // Rows [first_row, first_row + n) of a pass: consecutive tokens of one sequence from pos0 on.
  struct RowGroup {
    KvCache* cache = nullptr;
    int32_t pos0 = 0;
    int64_t first_row = 0;
    int64_t n = 0;
  };
  Status check_ready(const device::KvState* kv, KvCache** cache) const;
  void run(std::span<const int32_t> tokens, std::span<const RowGroup> groups, bool last_row_only,
           float* logits);
  MatmulPrecision matmul_precision() const {
    return numerics_ == Numerics::kFast ? MatmulPrecision::kFast : MatmulPrecision::kExact;
  }
  void attention_block(const device::LayerTensors& w, int64_t layer,
                       std::span<const RowGroup> groups, int64_t n);
  void ffn_block(const device::LayerTensors& w, int64_t n_rows);

  const ModelSpec& spec_;
  ThreadPool& pool_;
  const std::string& fault_;
  Numerics numerics_ = Numerics::kFast;
  Activations a_;
};

// x += W_o · attention(rope(W_q·n + b_q), rope(W_k·n + b_k), W_v·n + b_v), n = rms_norm(x), over
// n rows; each group's keys and values land in its cache first. Biases apply where present.
void CpuModel::attention_block(const device::LayerTensors& w, int64_t layer,
                               std::span<const RowGroup> groups, int64_t n) {
  const TransformerShape& s = spec_.shape;
  const MatmulPrecision mp = matmul_precision();
  rms_norm(a_.x.data(), w.attn_norm, n, s.hidden_dim, s.rms_eps, a_.xn.data(), pool_);
  const MatmulOutput qkv[] = {{&w.attn_q, a_.q.data()},   // [n, q_dim]
                              {&w.attn_k, a_.k.data()},   // [n, kv_dim]
                              {&w.attn_v, a_.v.data()}};  // [n, kv_dim]
  matmul_shared_input(qkv, a_.xn.data(), n, pool_, mp);
  if (w.attn_q_bias) add_bias(a_.q.data(), w.attn_q_bias, n, s.q_dim());
  if (w.attn_k_bias) add_bias(a_.k.data(), w.attn_k_bias, n, s.kv_dim());
  if (w.attn_v_bias) add_bias(a_.v.data(), w.attn_v_bias, n, s.kv_dim());

  const RopeMode mode =
      spec_.rope_style == device::RopeStyle::kHalves ? RopeMode::kNeox : RopeMode::kNormal;
  RopeParams q_rope{s.n_heads,        s.head_dim, s.n_rot,
                    s.rope_freq_base, mode,       numerics_ == Numerics::kExact};
  RopeParams k_rope = q_rope;
  k_rope.n_heads = s.n_kv_heads;
  AttentionParams attention;
  attention.n_heads = s.n_heads;
  attention.n_kv_heads = s.n_kv_heads;
  attention.head_dim = s.head_dim;
  attention.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  attention.round_to_f16 = numerics_ == Numerics::kFast;
  for (const RowGroup& group : groups) {
    float* q = a_.q.data() + group.first_row * s.q_dim();   // [group.n, q_dim]
    float* k = a_.k.data() + group.first_row * s.kv_dim();  // [group.n, kv_dim]
    const float* v = a_.v.data() + group.first_row * s.kv_dim();
    rope(q, group.n, group.pos0, q_rope, pool_);
    rope(k, group.n, group.pos0, k_rope, pool_);
    group.cache->store(layer, group.pos0, group.n, k, v);
    attention.pos0 = group.pos0;
    causal_attention(q, group.n, group.cache->layer(layer), attention,
                     a_.attn.data() + group.first_row * s.q_dim(), pool_);
  }

  matmul(w.attn_output, a_.attn.data(), n, a_.proj.data(), pool_, mp);  // [n, hidden_dim]
  add_inplace(a_.x.data(), a_.proj.data(), n * s.hidden_dim, pool_);
}

// x += W_down · (silu(W_gate·n) * (W_up·n)), n = rms_norm(x), over the first n_rows rows.
void CpuModel::ffn_block(const device::LayerTensors& w, int64_t n_rows) {
  const TransformerShape& s = spec_.shape;
  const MatmulPrecision mp = matmul_precision();
  rms_norm(a_.x.data(), w.ffn_norm, n_rows, s.hidden_dim, s.rms_eps, a_.xn.data(), pool_);
  const MatmulOutput gate_up[] = {{&w.ffn_gate, a_.gate.data()},  // [n, ffn_dim]
                                  {&w.ffn_up, a_.up.data()}};     // [n, ffn_dim]
  matmul_shared_input(gate_up, a_.xn.data(), n_rows, pool_, mp);
  swiglu(a_.gate.data(), a_.up.data(), n_rows * s.ffn_dim, a_.gate.data(), pool_);
  matmul(w.ffn_down, a_.gate.data(), n_rows, a_.proj.data(), pool_, mp);  // [n, hidden_dim]
  add_inplace(a_.x.data(), a_.proj.data(), n_rows * s.hidden_dim, pool_);
}

Status CpuModel::check_ready(const device::KvState* kv, KvCache** cache) const {
  if (!fault_.empty()) {
    return make_error(ErrorCode::kDeviceError, "CPU device fault: {} (the request was not run)",
                      fault_);
  }
  *cache = dynamic_cast<KvCache*>(const_cast<device::KvState*>(kv));
  if (*cache == nullptr || (*cache)->type() != kv_type()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward: the KV cache was not made by this CPU model in its precision");
  }
  return ok_status();
}

// Embeds `tokens`, runs every layer over the row groups and, when `logits` is set, writes the
// logits of the last row (last_row_only) or of every row.
void CpuModel::run(std::span<const int32_t> tokens, std::span<const RowGroup> groups,
                   bool last_row_only, float* logits) {
  const TransformerShape& s = spec_.shape;
  const int64_t n = static_cast<int64_t>(tokens.size());
  a_.reserve(s, n);
  for (int64_t t = 0; t < n; ++t) {
    const uint8_t* row =
        spec_.token_embd.data +
        static_cast<size_t>(tokens[static_cast<size_t>(t)]) * spec_.token_embd.row_bytes;
    dequantize_row(spec_.token_embd.type, row, a_.x.data() + t * s.hidden_dim, s.hidden_dim);
  }
  for (int64_t layer = 0; layer < s.n_layers; ++layer) {
    const device::LayerTensors& w = spec_.layers[static_cast<size_t>(layer)];
    attention_block(w, layer, groups, n);
    int64_t rows = n;
    if (layer == s.n_layers - 1 && last_row_only && n > 1) {
      // Only the last row's logits matter after the last attention block: move it to row 0.
      const float* last = a_.x.data() + (n - 1) * s.hidden_dim;
      std::copy(last, last + s.hidden_dim, a_.x.data());
      rows = 1;
    }
    ffn_block(w, rows);
  }
  for (const RowGroup& group : groups) {
    group.cache->set_filled(group.pos0 + static_cast<int32_t>(group.n));
  }
  if (logits == nullptr) return;
  const int64_t n_out = last_row_only ? 1 : n;
  rms_norm(a_.x.data(), spec_.output_norm, n_out, s.hidden_dim, s.rms_eps, a_.xn.data(), pool_);
  matmul(spec_.output, a_.xn.data(), n_out, logits, pool_, matmul_precision());
}

Status CpuModel::forward(const ForwardPass& pass) {
  KvCache* cache = nullptr;
  CMDAI_TRY(check_ready(pass.kv, &cache));
  const RowGroup group{cache, pass.pos, 0, static_cast<int64_t>(pass.tokens.size())};
  run(pass.tokens, std::span<const RowGroup>(&group, 1), !pass.all_rows, pass.logits);
  return ok_status();
}

// The batch's rows share every matmul (each weight row is read once for all sequences); only
// rotation, the cache writes and attention run per sequence.
Status CpuModel::forward_batch(std::span<const device::BatchSlot> slots, float* logits,
                               int64_t vocab_size) {
  if (vocab_size != spec_.shape.vocab_size) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward_batch: vocab_size {} is not the model's {}", vocab_size,
                      spec_.shape.vocab_size);
  }
  std::vector<int32_t> tokens(slots.size());
  std::vector<RowGroup> groups(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    KvCache* cache = nullptr;
    CMDAI_TRY(check_ready(slots[i].kv, &cache));
    tokens[i] = slots[i].token;
    groups[i] = RowGroup{cache, slots[i].pos, static_cast<int64_t>(i), 1};
  }
  run(tokens, groups, /*last_row_only=*/false, logits);
  return ok_status();
}

class CpuDevice final : public device::Device {
 public:
  explicit CpuDevice(int threads) : pool_(threads) {}

  device::DeviceKind kind() const override { return device::DeviceKind::kCpu; }
  device::MemoryKind memory_kind() const override { return device::MemoryKind::kHostMapped; }
  std::string description() const override {
    return fmt::format("cpu: {}, {} kernels, {} threads", cpu_model_name(), best_kernels().name,
                       pool_.size());
  }
  KernelChoice kernels_for(TensorType type) const override {
    return {kernel_origin(best_kernels(), type, true), kernel_origin(best_kernels(), type, false)};
  }
  void inject_fault(std::string what) override { fault_ = std::move(what); }
  Result<std::unique_ptr<device::DeviceModel>> load(const ModelSpec& spec) override {
    // One forward pass at a time shares the pool; a second model gets its own device.
    return std::unique_ptr<device::DeviceModel>(std::make_unique<CpuModel>(spec, pool_, fault_));
  }

 private:
  ThreadPool pool_;
  std::string fault_;
};

}  // namespace

std::unique_ptr<device::Device> make_cpu_device(int threads) {
  return std::make_unique<CpuDevice>(threads);
}

}  // namespace cmdai::cpu
