#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "base/fp16.h"

namespace cmdai::model {
namespace {

// Far beyond what a small local model needs; a request above it is a sizing bug, not a workload.
constexpr uint64_t kMaxCacheBytes = uint64_t{64} << 30;

void write_rows(uint8_t* dst, KvType type, const float* src, int64_t n) {
  if (type == KvType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  uint16_t* half = reinterpret_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) half[i] = f32_to_fp16(src[i]);
}

}  // namespace

Result<KvCache> KvCache::create(int64_t n_layers, int64_t n_ctx, int64_t kv_dim, KvType type) {
  if (n_layers <= 0 || n_ctx <= 0 || kv_dim <= 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV cache needs positive sizes (layers {}, context {}, kv dim {})", n_layers,
                      n_ctx, kv_dim);
  }
  KvCache cache;
  cache.n_layers_ = n_layers;
  cache.n_ctx_ = n_ctx;
  cache.kv_dim_ = kv_dim;
  cache.type_ = type;
  const uint64_t total = 2 * static_cast<uint64_t>(n_layers) * static_cast<uint64_t>(n_ctx) *
                         static_cast<uint64_t>(kv_dim) * cache.element_bytes();
  if (total > kMaxCacheBytes || n_ctx > INT32_MAX) {
    return make_error(ErrorCode::kResourceExhausted,
                      "KV cache of {} tokens would take {} MiB; ask for a shorter context", n_ctx,
                      total >> 20);
  }
  try {
    cache.k_.resize(total / 2);
    cache.v_.resize(total / 2);
  } catch (const std::bad_alloc&) {
    return make_error(ErrorCode::kResourceExhausted,
                      "out of memory allocating a {} MiB KV cache for {} tokens", total >> 20,
                      n_ctx);
  }
  return cache;
}

int64_t KvCache::context_for(int64_t n_prompt, int64_t max_new_tokens, int64_t context_length) {
  const int64_t wanted = std::max<int64_t>(1, n_prompt + std::max<int64_t>(0, max_new_tokens));
  return std::min(wanted, context_length);
}

void KvCache::truncate(int32_t n) { n_filled_ = std::clamp(n, 0, n_filled_); }

void KvCache::copy_prefix(const KvCache& from, int32_t n) {
  if (from.n_layers_ != n_layers_ || from.kv_dim_ != kv_dim_ || from.type_ != type_) return;
  n = std::clamp<int32_t>(n, 0, std::min<int32_t>(from.n_filled_, static_cast<int32_t>(n_ctx_)));
  const size_t bytes = static_cast<size_t>(n * kv_dim_) * element_bytes();
  for (int64_t layer = 0; layer < n_layers_; ++layer) {
    std::memcpy(k_.data() + layer * layer_bytes(), from.k_.data() + layer * from.layer_bytes(),
                bytes);
    std::memcpy(v_.data() + layer * layer_bytes(), from.v_.data() + layer * from.layer_bytes(),
                bytes);
  }
  n_filled_ = n;
}

void KvCache::store(int64_t layer, int32_t pos, int64_t n_tokens, const float* k, const float* v) {
  const size_t offset =
      layer * layer_bytes() + static_cast<size_t>(pos * kv_dim_) * element_bytes();
  write_rows(k_.data() + offset, type_, k, n_tokens * kv_dim_);
  write_rows(v_.data() + offset, type_, v, n_tokens * kv_dim_);
}

cpu::KvLayerView KvCache::layer(int64_t layer) const {
  const size_t offset = layer * layer_bytes();
  return cpu::KvLayerView{k_.data() + offset, v_.data() + offset, type_ == KvType::kF16};
}

}  // namespace cmdai::model
