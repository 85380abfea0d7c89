// The CUDA device behind device.h: opening the GPU, uploading a ModelSpec's weights, the KV cache
// in device memory, and the pre-norm decoder's forward pass (a decode step as a CUDA graph).
#include "device/cuda/cuda_device.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "device/cuda/kernels.cuh"
#include "quant/dequantize.h"

namespace cmdai::cuda {
namespace {

using device::ForwardPass;
using device::KvType;
using device::ModelSpec;
using device::TransformerShape;

// "CUDA error during <what>: <name> (<text>)" as a kDeviceError.
Error cuda_error(cudaError_t code, const std::string& what) {
  return Error{ErrorCode::kDeviceError,
               fmt::format("CUDA error during {}: {} ({})", what, cudaGetErrorName(code),
                           cudaGetErrorString(code))};
}

#define CMDAI_CUDA_TRY(call, what)                 \
  do {                                             \
    const cudaError_t cmdai_cuda_status_ = (call); \
    if (cmdai_cuda_status_ != cudaSuccess) {       \
      on_cuda_error(cmdai_cuda_status_);           \
      return cuda_error(cmdai_cuda_status_, what); \
    }                                              \
  } while (0)

// Shared by the device and its models: a sticky error breaks the CUDA context for the whole
// process; no later load can succeed (CUDA needs a new process), and says so.
struct DeviceState {
  int ordinal = 0;
  cudaStream_t stream = nullptr;
  std::string fault;    // inject_fault's text: the next passes launch a kernel CUDA refuses
  bool broken = false;  // a sticky CUDA error happened: nothing more can run in this process
};

bool is_sticky(cudaError_t code) {
  switch (code) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

Result<GpuType> gpu_type(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return GpuType::kF32;
    case TensorType::kF16:
      return GpuType::kF16;
    case TensorType::kQ4_K:
      return GpuType::kQ4K;
    case TensorType::kQ5_K:
      return GpuType::kQ5K;
    case TensorType::kQ6_K:
      return GpuType::kQ6K;
    case TensorType::kQ8_0:
      return GpuType::kQ8_0;
    default:
      return make_error(ErrorCode::kUnsupported, "the CUDA device has no kernels for {}",
                        type_name(type));
  }
}

// Device memory of one model: every tensor in one allocation, 256-byte aligned pieces.
class Arena {
 public:
  size_t reserve(size_t bytes) {
    const size_t at = size_;
    size_ = (size_ + bytes + 255) & ~size_t{255};
    return at;
  }
  size_t size() const { return size_; }
  uint8_t* base = nullptr;

 private:
  size_t size_ = 0;
};

// Where one matrix goes in the arena, decided before the allocation.
struct MatrixPlan {
  const device::WeightMatrix* host = nullptr;
  GpuMatrix* gpu = nullptr;
  size_t q_at = 0, scales_at = 0, d_at = 0;
};

struct VectorPlan {
  const float* host = nullptr;
  size_t n = 0;
  const float** gpu = nullptr;
  size_t at = 0;
};

struct GpuLayer {
  const float* attn_norm = nullptr;
  GpuMatrix attn_q, attn_k, attn_v;
  const float* attn_q_bias = nullptr;
  const float* attn_k_bias = nullptr;
  const float* attn_v_bias = nullptr;
  GpuMatrix attn_output;
  const float* ffn_norm = nullptr;
  GpuMatrix ffn_gate, ffn_up, ffn_down;
};

// The KV cache on the GPU: f16 K then V of every layer, [n_ctx, kv_dim] each.
class CudaKv final : public device::KvState {
 public:
  CudaKv(DeviceState& state, int64_t n_layers, int64_t n_ctx, int64_t kv_dim)
      : KvState(n_layers, n_ctx, kv_dim, KvType::kF16), state_(state) {}
  ~CudaKv() override {
    if (data_ != nullptr) cudaFree(data_);
  }

  Status allocate() {
    CMDAI_CUDA_TRY(cudaMalloc(&data_, size_bytes()), "allocating the KV cache");
    return ok_status();
  }
  __half* k(int64_t layer) { return data_ + (2 * layer) * n_ctx() * kv_dim(); }
  __half* v(int64_t layer) { return data_ + (2 * layer + 1) * n_ctx() * kv_dim(); }

  Status copy_prefix(const device::KvState& from_state, int32_t n) override {
    const auto* from = dynamic_cast<const CudaKv*>(&from_state);
    if (from == nullptr || from->n_layers() != n_layers() || from->kv_dim() != kv_dim()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "KV prefix copy between caches of different devices or shapes");
    }
    n = std::clamp<int32_t>(n, 0,
                            std::min<int32_t>(from->n_filled(), static_cast<int32_t>(n_ctx())));
    const size_t bytes = static_cast<size_t>(n) * kv_dim() * sizeof(__half);
    for (int64_t layer = 0; layer < n_layers(); ++layer) {
      CMDAI_CUDA_TRY(cudaMemcpyAsync(k(layer), const_cast<CudaKv*>(from)->k(layer), bytes,
                                     cudaMemcpyDeviceToDevice, state_.stream),
                     "copying a KV prefix");
      CMDAI_CUDA_TRY(cudaMemcpyAsync(v(layer), const_cast<CudaKv*>(from)->v(layer), bytes,
                                     cudaMemcpyDeviceToDevice, state_.stream),
                     "copying a KV prefix");
    }
    CMDAI_CUDA_TRY(cudaStreamSynchronize(state_.stream), "copying a KV prefix");
    set_filled(n);
    return ok_status();
  }

  Status read_rows(int64_t layer, int32_t pos0, int32_t n, void* k_out,
                   void* v_out) const override {
    CMDAI_TRY(check_rows(layer, pos0, n));
    auto* self = const_cast<CudaKv*>(this);
    const size_t offset = static_cast<size_t>(pos0) * kv_dim();
    const size_t bytes = static_cast<size_t>(n) * kv_dim() * sizeof(__half);
    CMDAI_CUDA_TRY(cudaMemcpy(k_out, self->k(layer) + offset, bytes, cudaMemcpyDeviceToHost),
                   "reading KV rows");
    CMDAI_CUDA_TRY(cudaMemcpy(v_out, self->v(layer) + offset, bytes, cudaMemcpyDeviceToHost),
                   "reading KV rows");
    return ok_status();
  }

  Status write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k_in,
                    const void* v_in) override {
    CMDAI_TRY(check_rows(layer, pos0, n));
    const size_t offset = static_cast<size_t>(pos0) * kv_dim();
    const size_t bytes = static_cast<size_t>(n) * kv_dim() * sizeof(__half);
    CMDAI_CUDA_TRY(cudaMemcpy(k(layer) + offset, k_in, bytes, cudaMemcpyHostToDevice),
                   "writing KV rows");
    CMDAI_CUDA_TRY(cudaMemcpy(v(layer) + offset, v_in, bytes, cudaMemcpyHostToDevice),
                   "writing KV rows");
    return ok_status();
  }

 private:
  void on_cuda_error(cudaError_t code) const {
    if (is_sticky(code)) state_.broken = true;
  }

  DeviceState& state_;
  __half* data_ = nullptr;
};

// Activation buffers of one pass, grown to the largest batch seen.
struct Activations {
  int capacity = 0;
  float* x = nullptr;        // [n, hidden] residual stream
  float* xn = nullptr;       // [n, hidden]
  float* q = nullptr;        // [n, q_dim]
  float* k = nullptr;        // [n, kv_dim]
  float* v = nullptr;        // [n, kv_dim]
  float* attn = nullptr;     // [n, q_dim]
  float* gate = nullptr;     // [n, ffn]
  float* scratch = nullptr;  // [n, max(ffn, hidden, q_dim)]: epilogues and the up product
  void* tc_scratch = nullptr;
  int* pos = nullptr;       // the pass's first position, read by the kernels (graph-safe)
  float* logits = nullptr;  // [logit_rows, vocab]
  int logit_rows = 0;
};

class CudaModel final : public device::DeviceModel {
 public:
  CudaModel(const ModelSpec& spec, DeviceState& state) : spec_(spec), state_(state) {}
  ~CudaModel() override {
    cudaStreamSynchronize(state_.stream);
    if (graph_exec_ != nullptr) cudaGraphExecDestroy(graph_exec_);
    free_activations();
    if (arena_.base != nullptr) cudaFree(arena_.base);
    if (host_x_ != nullptr) cudaFreeHost(host_x_);
    if (host_pos_ != nullptr) cudaFreeHost(host_pos_);
    if (host_logits_ != nullptr) cudaFreeHost(host_logits_);
  }

  Status upload();

  KvType kv_type() const override { return KvType::kF16; }
  Result<std::unique_ptr<device::KvState>> make_kv(int64_t n_ctx) override {
    const TransformerShape& s = spec_.shape;
    if (n_ctx <= 0 || n_ctx > s.context_length) {
      return make_error(ErrorCode::kInvalidArgument,
                        "KV cache of {} positions (the model's context is {})", n_ctx,
                        s.context_length);
    }
    auto kv = std::make_unique<CudaKv>(state_, s.n_layers, n_ctx, s.kv_dim());
    if (Status st = kv->allocate(); !st.ok()) {
      size_t free_bytes = 0, total_bytes = 0;
      cudaGetLastError();
      cudaMemGetInfo(&free_bytes, &total_bytes);
      return make_error(ErrorCode::kResourceExhausted,
                        "CUDA out of memory: a KV cache of {} positions needs {} MiB, {} MiB of "
                        "{} MiB are free",
                        n_ctx, kv->size_bytes() >> 20, free_bytes >> 20, total_bytes >> 20);
    }
    return std::unique_ptr<device::KvState>(std::move(kv));
  }
  size_t weight_bytes() const override { return arena_.size(); }

  Status forward(const ForwardPass& pass) override;

 private:
  void on_cuda_error(cudaError_t code) {
    if (is_sticky(code)) state_.broken = true;
  }
  Status plan_matrix(const device::WeightMatrix& host, GpuMatrix* gpu, const std::string& name,
                     std::vector<MatrixPlan>* plans);
  Status grow_activations(int n_tokens, int logit_rows);
  void free_activations();
  // Enqueues the whole pass (inputs already in host_x_ / host_pos_) on the stream.
  void enqueue(int n_tokens, CudaKv& kv, int n_out);

  const ModelSpec& spec_;
  DeviceState& state_;
  Arena arena_;
  std::vector<GpuLayer> layers_;
  const float* output_norm_ = nullptr;
  GpuMatrix output_;
  Activations a_;
  float* host_x_ = nullptr;       // pinned [kMaxBatchTokens, hidden]: embedding rows
  int* host_pos_ = nullptr;       // pinned
  float* host_logits_ = nullptr;  // pinned [logit_rows, vocab]
  int host_logit_rows_ = 0;
  // The decode step (one token, last-row logits) captured for one cache.
  cudaGraphExec_t graph_exec_ = nullptr;
  const CudaKv* graph_kv_ = nullptr;
};

Status CudaModel::plan_matrix(const device::WeightMatrix& host, GpuMatrix* gpu,
                              const std::string& name, std::vector<MatrixPlan>* plans) {
  auto type = gpu_type(host.type);
  if (!type.ok()) {
    return make_error(ErrorCode::kUnsupported, "{} (tensor {}); use --backend cpu",
                      type.error().message, name);
  }
  gpu->type = *type;
  gpu->rows = static_cast<int>(host.rows);
  gpu->cols = static_cast<int>(host.cols);
  MatrixPlan plan;
  plan.host = &host;
  plan.gpu = gpu;
  const size_t rows = static_cast<size_t>(host.rows);
  switch (*type) {
    case GpuType::kF32:
    case GpuType::kF16:
    case GpuType::kQ4K:
    case GpuType::kQ5K:
      gpu->row_bytes = host.row_bytes;
      gpu->blocks_per_row = static_cast<int>(host.cols / 256);
      plan.q_at = arena_.reserve(rows * host.row_bytes);
      break;
    case GpuType::kQ6K:
      gpu->blocks_per_row = static_cast<int>(host.cols / 256);
      gpu->row_bytes = static_cast<size_t>(gpu->blocks_per_row) * 192;
      plan.q_at = arena_.reserve(rows * gpu->row_bytes);
      plan.scales_at = arena_.reserve(rows * gpu->blocks_per_row * 16);
      plan.d_at = arena_.reserve(rows * gpu->blocks_per_row * sizeof(__half));
      break;
    case GpuType::kQ8_0:
      gpu->blocks_per_row = static_cast<int>(host.cols / 32);
      gpu->row_bytes = static_cast<size_t>(gpu->blocks_per_row) * 32;
      plan.q_at = arena_.reserve(rows * gpu->row_bytes);
      plan.d_at = arena_.reserve(rows * gpu->blocks_per_row * sizeof(__half));
      break;
  }
  plans->push_back(plan);
  return ok_status();
}

Status CudaModel::upload() {
  const TransformerShape& s = spec_.shape;
  std::vector<MatrixPlan> matrices;
  std::vector<VectorPlan> vectors;
  const auto plan_vector = [&](const float* host, int64_t n, const float** gpu) {
    if (host == nullptr) return;
    vectors.push_back(VectorPlan{host, static_cast<size_t>(n), gpu,
                                 arena_.reserve(static_cast<size_t>(n) * sizeof(float))});
  };
  layers_.resize(spec_.layers.size());
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const device::LayerTensors& h = spec_.layers[l];
    GpuLayer& g = layers_[l];
    const std::string p = fmt::format("blk.{}.", l);
    plan_vector(h.attn_norm, s.hidden_dim, &g.attn_norm);
    plan_vector(h.ffn_norm, s.hidden_dim, &g.ffn_norm);
    plan_vector(h.attn_q_bias, s.q_dim(), &g.attn_q_bias);
    plan_vector(h.attn_k_bias, s.kv_dim(), &g.attn_k_bias);
    plan_vector(h.attn_v_bias, s.kv_dim(), &g.attn_v_bias);
    CMDAI_TRY(plan_matrix(h.attn_q, &g.attn_q, p + "attn_q", &matrices));
    CMDAI_TRY(plan_matrix(h.attn_k, &g.attn_k, p + "attn_k", &matrices));
    CMDAI_TRY(plan_matrix(h.attn_v, &g.attn_v, p + "attn_v", &matrices));
    CMDAI_TRY(plan_matrix(h.attn_output, &g.attn_output, p + "attn_output", &matrices));
    CMDAI_TRY(plan_matrix(h.ffn_gate, &g.ffn_gate, p + "ffn_gate", &matrices));
    CMDAI_TRY(plan_matrix(h.ffn_up, &g.ffn_up, p + "ffn_up", &matrices));
    CMDAI_TRY(plan_matrix(h.ffn_down, &g.ffn_down, p + "ffn_down", &matrices));
  }
  plan_vector(spec_.output_norm, s.hidden_dim, &output_norm_);
  CMDAI_TRY(plan_matrix(spec_.output, &output_, "output", &matrices));

  if (cudaMalloc(&arena_.base, arena_.size()) != cudaSuccess) {
    cudaGetLastError();
    arena_.base = nullptr;
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    return make_error(ErrorCode::kResourceExhausted,
                      "CUDA out of memory: the weights need {} MiB, {} MiB of {} MiB are free",
                      arena_.size() >> 20, free_bytes >> 20, total_bytes >> 20);
  }
  cudaStream_t stream = state_.stream;
  for (const VectorPlan& v : vectors) {
    float* dst = reinterpret_cast<float*>(arena_.base + v.at);
    CMDAI_CUDA_TRY(
        cudaMemcpyAsync(dst, v.host, v.n * sizeof(float), cudaMemcpyHostToDevice, stream),
        "uploading the weights");
    *v.gpu = dst;
  }
  // q6_K and q8_0 go through a staging buffer on the GPU and a repacking kernel.
  size_t staging_bytes = 0;
  for (const MatrixPlan& m : matrices) {
    if (m.gpu->type == GpuType::kQ6K || m.gpu->type == GpuType::kQ8_0) {
      staging_bytes =
          std::max(staging_bytes, static_cast<size_t>(m.host->rows) * m.host->row_bytes);
    }
  }
  uint8_t* staging = nullptr;
  if (staging_bytes > 0) {
    CMDAI_CUDA_TRY(cudaMalloc(&staging, staging_bytes), "allocating the upload staging buffer");
  }
  Status status = ok_status();
  for (const MatrixPlan& m : matrices) {
    const size_t bytes = static_cast<size_t>(m.host->rows) * m.host->row_bytes;
    GpuMatrix& g = *m.gpu;
    uint8_t* q = arena_.base + m.q_at;
    g.q = q;
    cudaError_t err = cudaSuccess;
    if (g.type == GpuType::kQ6K || g.type == GpuType::kQ8_0) {
      const size_t n_blocks = static_cast<size_t>(g.rows) * g.blocks_per_row;
      err = cudaMemcpyAsync(staging, m.host->data, bytes, cudaMemcpyHostToDevice, stream);
      g.d = reinterpret_cast<const __half*>(arena_.base + m.d_at);
      if (g.type == GpuType::kQ6K) {
        g.scales = reinterpret_cast<const int8_t*>(arena_.base + m.scales_at);
        launch_repack_q6k(staging, n_blocks, q, const_cast<int8_t*>(g.scales),
                          const_cast<__half*>(g.d), stream);
      } else {
        launch_repack_q8_0(staging, n_blocks, q, const_cast<__half*>(g.d), stream);
      }
      if (err == cudaSuccess) err = cudaGetLastError();
      // The staging buffer is reused by the next matrix.
      if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
    } else {
      err = cudaMemcpyAsync(q, m.host->data, bytes, cudaMemcpyHostToDevice, stream);
    }
    if (err != cudaSuccess) {
      on_cuda_error(err);
      status = Status(cuda_error(err, "uploading the weights"));
      break;
    }
  }
  if (staging != nullptr) cudaFree(staging);
  CMDAI_TRY(status);
  CMDAI_CUDA_TRY(cudaStreamSynchronize(stream), "uploading the weights");
  CMDAI_CUDA_TRY(cudaMallocHost(&host_x_, device::kMaxBatchTokens * s.hidden_dim * sizeof(float)),
                 "allocating pinned buffers");
  CMDAI_CUDA_TRY(cudaMallocHost(&host_pos_, sizeof(int)), "allocating pinned buffers");
  return ok_status();
}

void CudaModel::free_activations() {
  for (void* p : {static_cast<void*>(a_.x), static_cast<void*>(a_.xn), static_cast<void*>(a_.q),
                  static_cast<void*>(a_.k), static_cast<void*>(a_.v), static_cast<void*>(a_.attn),
                  static_cast<void*>(a_.gate), static_cast<void*>(a_.scratch), a_.tc_scratch,
                  static_cast<void*>(a_.pos), static_cast<void*>(a_.logits)}) {
    if (p != nullptr) cudaFree(p);
  }
  a_ = Activations{};
}

Status CudaModel::grow_activations(int n_tokens, int logit_rows) {
  const TransformerShape& s = spec_.shape;
  if (n_tokens > a_.capacity) {
    // Graphs hold the old buffers' addresses.
    if (graph_exec_ != nullptr) {
      cudaGraphExecDestroy(graph_exec_);
      graph_exec_ = nullptr;
      graph_kv_ = nullptr;
    }
    free_activations();
    const size_t n = static_cast<size_t>(n_tokens);
    const size_t widest = static_cast<size_t>(std::max({s.ffn_dim, s.hidden_dim, s.q_dim()}));
    const auto alloc = [&](float** p, size_t floats) {
      return cudaMalloc(p, floats * sizeof(float));
    };
    cudaError_t err = cudaSuccess;
    for (auto [p, floats] :
         {std::pair{&a_.x, n * s.hidden_dim}, std::pair{&a_.xn, n * s.hidden_dim},
          std::pair{&a_.q, n * s.q_dim()}, std::pair{&a_.k, n * s.kv_dim()},
          std::pair{&a_.v, n * s.kv_dim()}, std::pair{&a_.attn, n * s.q_dim()},
          std::pair{&a_.gate, n * s.ffn_dim}, std::pair{&a_.scratch, n * widest}}) {
      if (err == cudaSuccess) err = alloc(p, floats);
    }
    const size_t tc_bytes = batched_matmul_scratch_bytes(n_tokens, static_cast<int>(widest));
    if (err == cudaSuccess && tc_bytes > 0) err = cudaMalloc(&a_.tc_scratch, tc_bytes);
    if (err == cudaSuccess) err = cudaMalloc(&a_.pos, sizeof(int));
    if (err != cudaSuccess) {
      cudaGetLastError();
      free_activations();
      return make_error(ErrorCode::kResourceExhausted,
                        "CUDA out of memory allocating activations for {} tokens", n_tokens);
    }
    a_.capacity = n_tokens;
    a_.logit_rows = 0;
  }
  if (logit_rows > a_.logit_rows) {
    if (graph_exec_ != nullptr) {
      cudaGraphExecDestroy(graph_exec_);
      graph_exec_ = nullptr;
      graph_kv_ = nullptr;
    }
    if (a_.logits != nullptr) cudaFree(a_.logits);
    if (host_logits_ != nullptr) cudaFreeHost(host_logits_);
    a_.logits = nullptr;
    host_logits_ = nullptr;
    const size_t floats = static_cast<size_t>(logit_rows) * s.vocab_size;
    if (cudaMalloc(&a_.logits, floats * sizeof(float)) != cudaSuccess ||
        cudaMallocHost(&host_logits_, floats * sizeof(float)) != cudaSuccess) {
      cudaGetLastError();
      a_.logit_rows = 0;
      return make_error(ErrorCode::kResourceExhausted,
                        "CUDA out of memory allocating logits for {} rows", logit_rows);
    }
    a_.logit_rows = logit_rows;
  }
  return ok_status();
}

void CudaModel::enqueue(int n, CudaKv& kv, int n_out) {
  const TransformerShape& s = spec_.shape;
  cudaStream_t stream = state_.stream;
  const int hidden = static_cast<int>(s.hidden_dim);
  cudaMemcpyAsync(a_.x, host_x_, static_cast<size_t>(n) * hidden * sizeof(float),
                  cudaMemcpyHostToDevice, stream);
  cudaMemcpyAsync(a_.pos, host_pos_, sizeof(int), cudaMemcpyHostToDevice, stream);
  RopeKvParams rope;
  rope.n_heads = static_cast<int>(s.n_heads);
  rope.n_kv_heads = static_cast<int>(s.n_kv_heads);
  rope.head_dim = static_cast<int>(s.head_dim);
  rope.n_rot = static_cast<int>(s.n_rot);
  rope.freq_base = s.rope_freq_base;
  rope.halves = spec_.rope_style == device::RopeStyle::kHalves;
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const auto matmul = [&](const GpuMatrix& w, const float* x, float* y, Epilogue e) {
    if (n == 1) {
      launch_matmul(w, x, 1, y, e, stream);
    } else {
      launch_batched_matmul(w, x, n, y, e, a_.scratch, a_.tc_scratch, stream);
    }
  };
  for (size_t l = 0; l < layers_.size(); ++l) {
    const GpuLayer& w = layers_[l];
    if (n == 1) {
      NormMatvec3 qkv;
      qkv.count = 3;
      qkv.w[0] = w.attn_q;
      qkv.w[1] = w.attn_k;
      qkv.w[2] = w.attn_v;
      qkv.y[0] = a_.q;
      qkv.y[1] = a_.k;
      qkv.y[2] = a_.v;
      qkv.bias[0] = w.attn_q_bias;
      qkv.bias[1] = w.attn_k_bias;
      qkv.bias[2] = w.attn_v_bias;
      qkv.norm = w.attn_norm;
      qkv.eps = s.rms_eps;
      launch_norm_matvec3(qkv, a_.x, stream);
    } else {
      launch_rms_norm(a_.x, w.attn_norm, n, hidden, s.rms_eps, a_.xn, stream);
      matmul(w.attn_q, a_.xn, a_.q, Epilogue{w.attn_q_bias, false});
      matmul(w.attn_k, a_.xn, a_.k, Epilogue{w.attn_k_bias, false});
      matmul(w.attn_v, a_.xn, a_.v, Epilogue{w.attn_v_bias, false});
    }
    launch_rope_kv(a_.q, a_.k, a_.v, n, a_.pos, rope, kv.k(static_cast<int64_t>(l)),
                   kv.v(static_cast<int64_t>(l)), stream);
    launch_attention(a_.q, n, a_.pos, kv.k(static_cast<int64_t>(l)), kv.v(static_cast<int64_t>(l)),
                     rope.n_heads, rope.n_kv_heads, rope.head_dim, scale, a_.attn, stream);
    matmul(w.attn_output, a_.attn, a_.x, Epilogue{nullptr, true});
    if (n == 1) {
      launch_norm_gate_up(w.ffn_gate, w.ffn_up, w.ffn_norm, s.rms_eps, a_.x, a_.gate, stream);
    } else {
      launch_rms_norm(a_.x, w.ffn_norm, n, hidden, s.rms_eps, a_.xn, stream);
      matmul(w.ffn_gate, a_.xn, a_.gate, Epilogue{});
      float* up = a_.scratch;
      // scratch also serves the epilogue of accumulate matmuls; the plain product needs none.
      launch_batched_matmul(w.ffn_up, a_.xn, n, up, Epilogue{}, nullptr, a_.tc_scratch, stream);
      launch_swiglu(a_.gate, up, static_cast<size_t>(n) * s.ffn_dim, a_.gate, stream);
    }
    matmul(w.ffn_down, a_.gate, a_.x, Epilogue{nullptr, true});
  }
  if (n_out == 0) return;
  const float* last = a_.x + static_cast<size_t>(n - n_out) * hidden;
  launch_rms_norm(last, output_norm_, n_out, hidden, s.rms_eps, a_.xn, stream);
  if (n_out == 1) {
    launch_matmul(output_, a_.xn, 1, a_.logits, Epilogue{}, stream);
  } else {
    launch_batched_matmul(output_, a_.xn, n_out, a_.logits, Epilogue{}, a_.scratch, a_.tc_scratch,
                          stream);
  }
  cudaMemcpyAsync(host_logits_, a_.logits,
                  static_cast<size_t>(n_out) * s.vocab_size * sizeof(float), cudaMemcpyDeviceToHost,
                  stream);
}

Status CudaModel::forward(const ForwardPass& pass) {
  if (state_.broken) {
    return make_error(ErrorCode::kDeviceError,
                      "CUDA device is in an error state after an earlier fatal GPU error: restart "
                      "cmdai (or the server), or use --backend cpu");
  }
  auto* kv = dynamic_cast<CudaKv*>(pass.kv);
  if (kv == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      "forward: the KV cache was not made by this CUDA model");
  }
  const TransformerShape& s = spec_.shape;
  const int n = static_cast<int>(pass.tokens.size());
  const int n_out = pass.logits == nullptr ? 0 : (pass.all_rows ? n : 1);
  CMDAI_TRY(grow_activations(n, std::max(1, n_out)));
  if (!state_.fault.empty()) {
    const cudaError_t err = launch_invalid_kernel(state_.stream);
    on_cuda_error(err);
    return make_error(ErrorCode::kDeviceError, "CUDA device fault ({}): {} ({})", state_.fault,
                      cudaGetErrorName(err), cudaGetErrorString(err));
  }
  for (int t = 0; t < n; ++t) {
    const int32_t token = pass.tokens[static_cast<size_t>(t)];
    dequantize_row(spec_.token_embd.type,
                   spec_.token_embd.data + static_cast<size_t>(token) * spec_.token_embd.row_bytes,
                   host_x_ + static_cast<size_t>(t) * s.hidden_dim, s.hidden_dim);
  }
  *host_pos_ = pass.pos;
  cudaStream_t stream = state_.stream;
  if (n == 1 && n_out == 1) {
    // The decode step: captured once per cache, replayed with the new token and position.
    if (graph_exec_ == nullptr || graph_kv_ != kv) {
      if (graph_exec_ != nullptr) cudaGraphExecDestroy(graph_exec_);
      graph_exec_ = nullptr;
      cudaGraph_t graph = nullptr;
      CMDAI_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
                     "capturing the decode step");
      enqueue(1, *kv, 1);
      CMDAI_CUDA_TRY(cudaStreamEndCapture(stream, &graph), "capturing the decode step");
      const cudaError_t err = cudaGraphInstantiate(&graph_exec_, graph, 0);
      cudaGraphDestroy(graph);
      CMDAI_CUDA_TRY(err, "instantiating the decode step");
      graph_kv_ = kv;
    }
    CMDAI_CUDA_TRY(cudaGraphLaunch(graph_exec_, stream), "launching the decode step");
  } else {
    enqueue(n, *kv, n_out);
    CMDAI_CUDA_TRY(cudaGetLastError(), "launching the forward pass");
  }
  CMDAI_CUDA_TRY(cudaStreamSynchronize(stream), "the forward pass");
  kv->set_filled(pass.pos + n);
  if (n_out > 0) {
    std::memcpy(pass.logits, host_logits_,
                static_cast<size_t>(n_out) * s.vocab_size * sizeof(float));
  }
  return ok_status();
}

class CudaDevice final : public device::Device {
 public:
  CudaDevice(int ordinal, cudaDeviceProp props, int driver, int runtime)
      : props_(props), driver_(driver), runtime_(runtime) {
    state_.ordinal = ordinal;
  }
  ~CudaDevice() override {
    if (state_.stream != nullptr) cudaStreamDestroy(state_.stream);
  }

  Status init() {
    CMDAI_CUDA_TRY(cudaSetDevice(state_.ordinal), "selecting the GPU");
    // Double data rate: two transfers per memory clock (kHz) over the bus (bits).
    int clock_khz = 0, bus_bits = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, state_.ordinal) ==
            cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, state_.ordinal) ==
            cudaSuccess) {
      peak_gb_per_s_ = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
    }
    cudaGetLastError();
    CMDAI_CUDA_TRY(cudaStreamCreateWithFlags(&state_.stream, cudaStreamNonBlocking),
                   "creating a stream");
    // Kernels overlap their predecessors' tails (and prefetch their weights meanwhile) on Hopper.
    set_programmatic_launch(props_.major >= 9 && std::getenv("CMDAI_CUDA_NO_PDL") == nullptr);
    return ok_status();
  }

  device::DeviceKind kind() const override { return device::DeviceKind::kCuda; }
  device::MemoryKind memory_kind() const override { return device::MemoryKind::kDevice; }
  std::string description() const override {
    return fmt::format("cuda: {} (sm_{}{}, {} SMs, {:.1f} GiB), driver {}.{}, runtime {}.{}",
                       props_.name, props_.major, props_.minor, props_.multiProcessorCount,
                       props_.totalGlobalMem / double(1 << 30), driver_ / 1000,
                       (driver_ % 1000) / 10, runtime_ / 1000, (runtime_ % 1000) / 10);
  }
  device::DeviceMemory memory() const override {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
      cudaGetLastError();
      return {};
    }
    return {total_bytes - free_bytes, total_bytes, peak_gb_per_s_};
  }
  void inject_fault(std::string what) override { state_.fault = std::move(what); }

  Result<std::unique_ptr<device::DeviceModel>> load(const ModelSpec& spec) override {
    if (state_.broken) {
      // A sticky error (an illegal address, a trap, ...) poisons the context, and CUDA documents
      // that only a new process can use the GPU again: cudaDeviceReset in this one fails with
      // cudaErrorDevicesUnavailable (seen on an H100, driver 580).
      return make_error(ErrorCode::kDeviceError,
                        "CUDA cannot be used again in this process after a fatal GPU error: "
                        "restart cmdai (or the server), or use --backend cpu");
    }
    auto model = std::make_unique<CudaModel>(spec, state_);
    CMDAI_TRY(model->upload());
    return std::unique_ptr<device::DeviceModel>(std::move(model));
  }

 private:
  void on_cuda_error(cudaError_t code) {
    if (is_sticky(code)) state_.broken = true;
  }

  DeviceState state_;
  double peak_gb_per_s_ = 0;
  cudaDeviceProp props_;
  int driver_ = 0;
  int runtime_ = 0;
};

}  // namespace

Result<std::unique_ptr<device::Device>> open_cuda_device(const device::DeviceOptions&) {
  int driver = 0, runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0) {
    cudaGetLastError();
    return make_error(ErrorCode::kPlatformUnsupported,
                      "no CUDA driver found (no NVIDIA GPU driver is installed); use --backend "
                      "cpu");
  }
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    return make_error(ErrorCode::kPlatformUnsupported,
                      "the CUDA driver ({}.{}) is older than this build's runtime ({}.{}); "
                      "update the NVIDIA driver or use --backend cpu",
                      driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
  }
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    return make_error(ErrorCode::kPlatformUnsupported, "no CUDA GPU found ({}); use --backend cpu",
                      err != cudaSuccess ? cudaGetErrorString(err) : "no devices");
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) != cudaSuccess) {
    cudaGetLastError();
    return make_error(ErrorCode::kPlatformUnsupported,
                      "cannot query the CUDA GPU; use --backend cpu");
  }
  if (props.major < 8) {
    return make_error(ErrorCode::kPlatformUnsupported,
                      "the CUDA GPU {} (sm_{}{}) is older than this build supports (sm_80 and "
                      "newer); "
                      "use --backend cpu",
                      props.name, props.major, props.minor);
  }
  auto device = std::make_unique<CudaDevice>(0, props, driver, runtime);
  if (Status st = device->init(); !st.ok()) {
    return make_error(ErrorCode::kPlatformUnsupported, "the CUDA GPU cannot be used: {}",
                      st.error().message);
  }
  return std::unique_ptr<device::Device>(std::move(device));
}

}  // namespace cmdai::cuda
