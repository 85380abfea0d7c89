#include "device/cpu/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "base/fp16.h"

namespace cmdai::cpu {
namespace {

// Far beyond what a small local model needs; a request above it is a sizing bug, not a workload.
constexpr uint64_t kMaxCacheBytes = uint64_t{64} << 30;

void write_floats(uint8_t* dst, device::KvType type, const float* src, int64_t n) {
  if (type == device::KvType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  uint16_t* half = reinterpret_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) half[i] = f32_to_fp16(src[i]);
}

}  // namespace

Result<std::unique_ptr<KvCache>> KvCache::create(int64_t n_layers, int64_t n_ctx, int64_t kv_dim,
                                                 device::KvType type) {
  if (n_layers <= 0 || n_ctx <= 0 || kv_dim <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV cache needs positive sizes (layers {}, context {}, kv dim {})", n_layers,
                      n_ctx, kv_dim);
  }
  const uint64_t total = 2 * static_cast<uint64_t>(n_layers) * static_cast<uint64_t>(n_ctx) *
                         static_cast<uint64_t>(kv_dim) * device::kv_element_bytes(type);
  if (total > kMaxCacheBytes || n_ctx > INT32_MAX) {
    return make_error(ErrorCode::kResourceExhausted,
                      "KV cache of {} tokens would take {} MiB; ask for a shorter context", n_ctx,
                      total >> 20);
  }
  std::unique_ptr<KvCache> cache(new KvCache(n_layers, n_ctx, kv_dim, type));
  try {
    cache->k_.resize(total / 2);
    cache->v_.resize(total / 2);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kResourceExhausted,
                      "out of memory allocating a {} MiB KV cache for {} tokens", total >> 20,
                      n_ctx);
  }
  return cache;
}

Status KvCache::copy_prefix(const device::KvState& from_state, int32_t n) {
  const auto* from = dynamic_cast<const KvCache*>(&from_state);
  if (from == nullptr || from->n_layers() != n_layers() || from->kv_dim() != kv_dim() ||
      from->type() != type()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV prefix copy between caches of different devices, shapes or types");
  }
  n = std::clamp<int32_t>(n, 0, std::min<int32_t>(from->n_filled(), static_cast<int32_t>(n_ctx())));
  const size_t bytes = static_cast<size_t>(n * kv_dim()) * element_bytes();
  for (int64_t layer = 0; layer < n_layers(); ++layer) {
    std::memcpy(k_.data() + layer * layer_bytes(), from->k_.data() + layer * from->layer_bytes(),
                bytes);
    std::memcpy(v_.data() + layer * layer_bytes(), from->v_.data() + layer * from->layer_bytes(),
                bytes);
  }
  set_filled(n);
  return ok_status();
}

Status KvCache::read_rows(int64_t layer, int32_t pos0, int32_t n, void* k, void* v) const {
  CMDAI_TRY(check_rows(layer, pos0, n));
  const size_t bytes = static_cast<size_t>(n * kv_dim()) * element_bytes();
  std::memcpy(k, k_.data() + row_offset(layer, pos0), bytes);
  std::memcpy(v, v_.data() + row_offset(layer, pos0), bytes);
  return ok_status();
}

Status KvCache::write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k, const void* v) {
  CMDAI_TRY(check_rows(layer, pos0, n));
  const size_t bytes = static_cast<size_t>(n * kv_dim()) * element_bytes();
  std::memcpy(k_.data() + row_offset(layer, pos0), k, bytes);
  std::memcpy(v_.data() + row_offset(layer, pos0), v, bytes);
  return ok_status();
}

void KvCache::store(int64_t layer, int32_t pos, int64_t n_tokens, const float* k, const float* v) {
  const size_t offset = row_offset(layer, pos);
  write_floats(k_.data() + offset, type(), k, n_tokens * kv_dim());
  write_floats(v_.data() + offset, type(), v, n_tokens * kv_dim());
}

KvLayerView KvCache::layer(int64_t layer) const {
  const size_t offset = static_cast<size_t>(layer) * layer_bytes();
  return KvLayerView{k_.data() + offset, v_.data() + offset, type() == device::KvType::kF16};
}

}  // namespace cmdai::cpu
