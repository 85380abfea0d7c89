#include "device/mlx/mlx_kv.h"

#include <algorithm>
#include <cstring>

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;

// Host rows [n, kv_dim] of f16 bits as an array [1, n_kv_heads, n, head_dim].
mx::array rows_to_heads(const void* rows, int n, int n_kv_heads, int head_dim) {
  const size_t bytes = static_cast<size_t>(n) * n_kv_heads * head_dim * sizeof(uint16_t);
  mx::allocator::Buffer buffer = mx::allocator::malloc(bytes);
  std::memcpy(buffer.raw_ptr(), rows, bytes);
  const mx::array flat(buffer, {1, n, n_kv_heads, head_dim}, mx::float16);
  return mx::transpose(flat, {0, 2, 1, 3});
}

// Positions pos0 .. pos0+n-1 of a cache array, as host rows [n, kv_dim] of f16 bits.
void heads_to_rows(const mx::array& cache, int pos0, int n, void* rows) {
  const int heads = cache.shape(1), head_dim = cache.shape(3);
  mx::array part = mx::slice(cache, {0, 0, pos0, 0}, {1, heads, pos0 + n, head_dim});
  part = mx::contiguous(mx::transpose(part, {0, 2, 1, 3}));
  mx::eval(part);
  std::memcpy(rows, part.data<mx::float16_t>(), part.nbytes());
}

// The arrays' positions: n_ctx rounded up to a multiple of 256 within the model's context, so
// caches of nearby sizes (one per request) share one trace of the compiled decode step, which
// MLX keys by shape. The extra rows are never written, and that step's mask hides them.
int64_t kv_rows(int64_t n_ctx, const device::TransformerShape& shape) {
  constexpr int64_t kQuantum = 256;
  const int64_t rounded = (n_ctx + kQuantum - 1) / kQuantum * kQuantum;
  return std::max(n_ctx, std::min(rounded, shape.context_length));
}

}  // namespace

MlxKv::MlxKv(std::shared_ptr<MlxThread> thread, const device::TransformerShape& shape,
             int64_t n_ctx)
    : KvState(shape.n_layers, n_ctx, shape.kv_dim(), device::KvType::kF16),
      thread_(std::move(thread)),
      n_kv_heads_(static_cast<int>(shape.n_kv_heads)),
      head_dim_(static_cast<int>(shape.head_dim)) {}

Result<std::unique_ptr<MlxKv>> MlxKv::create(std::shared_ptr<MlxThread> thread,
                                             const device::TransformerShape& shape, int64_t n_ctx) {
  std::unique_ptr<MlxKv> kv(new MlxKv(thread, shape, n_ctx));
  const Status made = thread->run("allocating the KV cache", [&]() -> Status {
    const mx::Shape dims = {1, kv->n_kv_heads_, static_cast<int>(kv_rows(n_ctx, shape)),
                            kv->head_dim_};
    for (int64_t l = 0; l < shape.n_layers; ++l) {
      kv->k_.push_back(mx::zeros(dims, mx::float16));
      kv->v_.push_back(mx::zeros(dims, mx::float16));
    }
    mx::eval(kv->arrays());
    return ok_status();
  });
  if (!made.ok()) {
    return make_error(ErrorCode::kResourceExhausted, "a KV cache of {} positions ({} MiB): {}",
                      n_ctx, kv->size_bytes() >> 20, made.error().message);
  }
  return kv;
}

MlxKv::~MlxKv() {
  (void)thread_->run("freeing a KV cache", [this] {
    k_.clear();
    v_.clear();
    return ok_status();
  });
}

void MlxKv::write(int64_t layer, int32_t pos, const mx::array& k, const mx::array& v) {
  const int n = k.shape(2);
  const mx::Shape start = {0, 0, pos, 0}, stop = {1, n_kv_heads_, pos + n, head_dim_};
  // The old array is held only by the update, so MLX writes into its buffer.
  k_[layer] = mx::slice_update(k_[layer], mx::astype(k, mx::float16), start, stop);
  v_[layer] = mx::slice_update(v_[layer], mx::astype(v, mx::float16), start, stop);
}

mx::array MlxKv::keys(int64_t layer, int32_t n) const {
  return mx::slice(k_[layer], {0, 0, 0, 0}, {1, n_kv_heads_, n, head_dim_});
}

mx::array MlxKv::values(int64_t layer, int32_t n) const {
  return mx::slice(v_[layer], {0, 0, 0, 0}, {1, n_kv_heads_, n, head_dim_});
}

std::vector<mx::array> MlxKv::arrays() const {
  std::vector<mx::array> all = k_;
  all.insert(all.end(), v_.begin(), v_.end());
  return all;
}

Status MlxKv::copy_prefix(const device::KvState& from_state, int32_t n) {
  const auto* from = dynamic_cast<const MlxKv*>(&from_state);
  if (from == nullptr || from->n_layers() != n_layers() || from->kv_dim() != kv_dim() ||
      from->thread_ != thread_) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV prefix copy between caches of different devices, models or shapes");
  }
  n = std::clamp<int32_t>(n, 0, std::min<int32_t>(from->n_filled(), static_cast<int32_t>(n_ctx())));
  CMDAI_TRY(thread_->run("copying a KV prefix", [&] {
    if (n > 0) {
      for (int64_t l = 0; l < n_layers(); ++l) {
        write(l, 0, from->keys(l, n), from->values(l, n));
      }
      mx::eval(arrays());
    }
    return ok_status();
  }));
  set_filled(n);
  return ok_status();
}

Status MlxKv::read_rows(int64_t layer, int32_t pos0, int32_t n, void* k, void* v) const {
  CMDAI_TRY(check_rows(layer, pos0, n));
  if (n == 0) return ok_status();
  return thread_->run("reading KV rows", [&] {
    heads_to_rows(k_[layer], pos0, n, k);
    heads_to_rows(v_[layer], pos0, n, v);
    return ok_status();
  });
}

Status MlxKv::write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k, const void* v) {
  CMDAI_TRY(check_rows(layer, pos0, n));
  if (n == 0) return ok_status();
  return thread_->run("writing KV rows", [&] {
    write(layer, pos0, rows_to_heads(k, n, n_kv_heads_, head_dim_),
          rows_to_heads(v, n, n_kv_heads_, head_dim_));
    mx::eval({k_[layer], v_[layer]});
    return ok_status();
  });
}

}  // namespace cmdai::mlx_device
