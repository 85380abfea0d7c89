// The seam between the model and the hardware: a device takes an architecture described as data
// (shape, rotation style, the file's tensors) and owns everything after that: the weights in the
// layout its kernels want, the KV storage, the activations and how a forward pass runs.
// Plain C++: no CUDA or MLX header reaches anything above device/ (only device/mlx/ includes
// mlx/mlx.h, only device/cuda/ the CUDA headers).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "device/weight_matrix.h"

namespace cmdai::device {

enum class DeviceKind { kCpu, kCuda, kMlx };
std::string_view device_kind_name(DeviceKind kind);  // "cpu", "cuda", "mlx"

// Where a device keeps the weights: the mapped file used in place, unified memory, the device's
// own memory (copied there at load), or its own copy in host memory (MLX's CPU backend).
enum class MemoryKind { kHostMapped, kUnified, kDevice, kHost };

// Which elements RoPE rotates together.
enum class RopeStyle {
  kAdjacentPairs,  // (2i, 2i+1): llama
  kHalves,         // (i, i + n_rot/2): qwen2, gpt-neox
};

enum class Numerics {
  // Like llama.cpp: activations quantized for the matmuls, f16 KV cache. Every device has it.
  kFast,
  // The float reference: f32 activations and KV, double-accumulated matmuls. The CPU has it, as
  // the oracle other devices are tested against; others answer kUnsupported.
  kExact,
};

enum class KvType {
  kF16,  // half the memory, rounding ~1e-3 relative
  kF32,  // for the exact reference path
};
inline size_t kv_element_bytes(KvType type) { return type == KvType::kF16 ? 2 : 4; }

// The sizes of a decoder-only transformer (names as in docs/ARCHITECTURE.md).
struct TransformerShape {
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

// One pre-norm decoder layer's tensors, host bytes of the mapped file. Vectors are f32.
struct LayerTensors {
  const float* attn_norm = nullptr;    // [hidden_dim]
  WeightMatrix attn_q;                 // [q_dim rows, hidden_dim cols]
  WeightMatrix attn_k;                 // [kv_dim, hidden_dim]
  WeightMatrix attn_v;                 // [kv_dim, hidden_dim]
  const float* attn_q_bias = nullptr;  // [q_dim], or null when the model has none
  const float* attn_k_bias = nullptr;  // [kv_dim]
  const float* attn_v_bias = nullptr;  // [kv_dim]
  WeightMatrix attn_output;            // [hidden_dim, q_dim]
  const float* ffn_norm = nullptr;     // [hidden_dim]
  WeightMatrix ffn_gate;               // [ffn_dim, hidden_dim]
  WeightMatrix ffn_up;                 // [ffn_dim, hidden_dim]
  WeightMatrix ffn_down;               // [hidden_dim, ffn_dim]
};

// An architecture as data: everything a device needs to run it. model/ builds it from a GGUF file
// (names, shapes, what qwen2 and llama do differently); the pointers stay valid while the file is
// open. Each layer is x += attn(rms_norm(x)); x += ffn(rms_norm(x)) with grouped-query attention
// (q/k/v biases where present, RoPE of `rope_style`) and a SwiGLU feed-forward.
struct ModelSpec {
  TransformerShape shape;
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  WeightMatrix token_embd;             // [vocab_size, hidden_dim]
  const float* output_norm = nullptr;  // [hidden_dim]
  WeightMatrix output;                 // [vocab_size, hidden_dim]; token_embd when tied
  bool tied_output = false;
  std::vector<LayerTensors> layers;
};

// The keys and values of one sequence, in the device's memory: per layer [n_ctx, kv_dim] for K and
// for V. Positions 0 .. n_filled()-1 are valid.
class KvState {
 public:
  virtual ~KvState() = default;

  int64_t n_layers() const { return n_layers_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  KvType type() const { return type_; }
  size_t size_bytes() const {
    return 2 * static_cast<size_t>(n_layers_ * n_ctx_ * kv_dim_) * kv_element_bytes(type_);
  }

  int32_t n_filled() const { return n_filled_; }
  void set_filled(int32_t n) { n_filled_ = n; }
  // Forgets positions n and later, so a shared prefix 0 .. n-1 can be reused.
  void truncate(int32_t n) { n_filled_ = n < 0 ? 0 : (n < n_filled_ ? n : n_filled_); }

  // Copies positions 0 .. n-1 of a state of the same device, shape and type (to grow a cache
  // while keeping its prefix); n is clamped to what both hold. kInvalidArgument otherwise.
  virtual Status copy_prefix(const KvState& from, int32_t n) = 0;
  // Rows pos0 .. pos0+n-1 of one layer as host bytes of type() (f16 bits or f32), [n, kv_dim]
  // each: how snapshots on disk leave and enter any device.
  virtual Status read_rows(int64_t layer, int32_t pos0, int32_t n, void* k, void* v) const = 0;
  virtual Status write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k,
                            const void* v) = 0;

 protected:
  KvState(int64_t n_layers, int64_t n_ctx, int64_t kv_dim, KvType type)
      : n_layers_(n_layers), n_ctx_(n_ctx), kv_dim_(kv_dim), type_(type) {}

  // kInvalidArgument unless rows pos0 .. pos0+n-1 of `layer` lie inside the cache.
  Status check_rows(int64_t layer, int32_t pos0, int32_t n) const {
    if (layer < 0 || layer >= n_layers_ || pos0 < 0 || n < 0 || pos0 + int64_t{n} > n_ctx_) {
      return make_error(ErrorCode::kInvalidArgument,
                        "KV rows {}..{} of layer {} are outside a cache of {} layers x {} "
                        "positions",
                        pos0, pos0 + int64_t{n}, layer, n_layers_, n_ctx_);
    }
    return ok_status();
  }

 private:
  int64_t n_layers_;
  int64_t n_ctx_;
  int64_t kv_dim_;
  KvType type_;
  int32_t n_filled_ = 0;
};

// The most tokens one forward call takes; model::Model slices longer inputs.
inline constexpr size_t kMaxBatchTokens = 512;

// One forward call: tokens at positions pos .. pos+n-1 (already checked against the vocabulary
// and the cache), their keys and values appended to `kv`, logits written to host memory.
struct ForwardPass {
  std::span<const int32_t> tokens;
  int32_t pos = 0;
  KvState* kv = nullptr;
  bool all_rows = false;    // logits of every row (n * vocab_size) or only the last (vocab_size)
  float* logits = nullptr;  // null: no logits wanted (an early slice of a long prompt)
};

// One decode step of several independent sequences: each slot's token at its own position, its
// keys and values appended to its own cache (caches must be distinct).
struct BatchSlot {
  int32_t token = 0;
  int32_t pos = 0;
  KvState* kv = nullptr;
};

// A model's weights on one device, and the forward pass over them. One pass at a time.
class DeviceModel {
 public:
  virtual ~DeviceModel() = default;

  virtual KvType kv_type() const = 0;
  // kResourceExhausted (with the numbers) when the memory is not there.
  virtual Result<std::unique_ptr<KvState>> make_kv(int64_t n_ctx) = 0;
  // kDeviceError naming the device when the hardware fails mid-pass.
  virtual Status forward(const ForwardPass& pass) = 0;
  // logits receives [slots.size(), vocab_size]. Each row equals what forward() gives for that
  // slot alone. This default runs the slots one by one; devices override it to read each weight
  // once for the whole batch (decode is bound by memory, so a batch costs little more than one).
  virtual Status forward_batch(std::span<const BatchSlot> slots, float* logits, int64_t vocab_size);
  // kUnsupported where the device has no such path: only the CPU has kExact (and overrides these).
  virtual Status set_numerics(Numerics numerics) {
    if (numerics == Numerics::kFast) return ok_status();
    return make_error(ErrorCode::kUnsupported,
                      "the exact reference path runs on the CPU only (use --backend cpu)");
  }
  virtual Numerics numerics() const { return Numerics::kFast; }
  // Bytes the weights take in the device's memory (0 when used in place from the mapped file).
  virtual size_t weight_bytes() const = 0;
};

inline Status DeviceModel::forward_batch(std::span<const BatchSlot> slots, float* logits,
                                         int64_t vocab_size) {
  for (size_t i = 0; i < slots.size(); ++i) {
    ForwardPass pass;
    pass.tokens = std::span<const int32_t>(&slots[i].token, 1);
    pass.pos = slots[i].pos;
    pass.kv = slots[i].kv;
    pass.logits = logits + static_cast<int64_t>(i) * vocab_size;
    CMDAI_TRY(forward(pass));
  }
  return ok_status();
}

struct DeviceMemory {
  size_t used_bytes = 0;     // in use on the device (all processes), where it can tell; else 0
  size_t total_bytes = 0;    // 0 where unknown (host memory)
  double peak_gb_per_s = 0;  // the memory's nominal bandwidth (decode's roofline); 0 = unknown
};

class Device {
 public:
  virtual ~Device() = default;

  virtual DeviceKind kind() const = 0;
  virtual MemoryKind memory_kind() const = 0;
  // One line for doctor, bench and --verbose: the hardware, and what runs on it.
  virtual std::string description() const = 0;
  virtual DeviceMemory memory() const { return {}; }
  // Which kernels multiply a weight type here, for bench and doctor: the one-token path (decode)
  // and the many-token path (prefill, batched decode), e.g. {"avx2 gemv", "avx512vnni tiles"}.
  // Empty strings where the device does not say or has no kernels for the type.
  struct KernelChoice {
    std::string decode, prefill;
  };
  virtual KernelChoice kernels_for(TensorType type) const {
    (void)type;
    return {};
  }
  // CR-MLX-006: makes the next forward passes fail as a fault of this device would (`what` names
  // it), so tests can prove that device errors surface as typed errors naming the device; where
  // the device can, the fault is a real one (a failing kernel), not a simulated status. "" turns
  // it off.
  virtual void inject_fault(std::string what) = 0;
  // The spec's tensors must stay valid while the returned model lives (the CPU reads them in
  // place). kUnsupported for a tensor type the device has no kernels for, kResourceExhausted when
  // the weights do not fit.
  virtual Result<std::unique_ptr<DeviceModel>> load(const ModelSpec& spec) = 0;
};

struct DeviceOptions {
  int threads = 0;  // CPU worker threads; 0 = one per core
};

// auto picks the best device this build and machine can run; the others ask for one.
enum class DeviceChoice { kAuto, kCpu, kCuda, kMlx };
// "auto", "cpu", "cuda", "mlx" (kInvalidArgument otherwise).
Result<DeviceChoice> parse_device_choice(std::string_view name);

// Opens the device asked for. kPlatformUnsupported in one line saying why when this build or
// machine cannot run it (not compiled in, no GPU, driver too old, ...). kAuto tries CUDA, then
// MLX, then falls back to the CPU, which always opens.
Result<std::unique_ptr<Device>> open_device(DeviceChoice choice, const DeviceOptions& options);

// The devices compiled into this build, in the order kAuto tries them ("cpu" always last).
std::vector<DeviceKind> compiled_devices();

}  // namespace cmdai::device
