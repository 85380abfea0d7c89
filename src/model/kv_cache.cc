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

constexpr char kMagic[4] = {'C', 'M', 'K', 'V'};
constexpr uint32_t kFormatVersion = 1;

// Header: magic, version, type, then n_layers, kv_dim, n_positions as u64.
struct SnapshotHeader {
  char magic[4];
  uint32_t version;
  uint32_t type;
  uint32_t reserved;
  uint64_t n_layers;
  uint64_t kv_dim;
  uint64_t n_positions;
};

template <typename T>
void append(std::vector<uint8_t>& out, const T* data, size_t count) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + count * sizeof(T));
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

std::vector<uint8_t> KvCache::serialize(std::span<const int32_t> tokens) const {
  const size_t n = std::min(tokens.size(), static_cast<size_t>(n_filled_));
  SnapshotHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kFormatVersion;
  header.type = static_cast<uint32_t>(type_);
  header.n_layers = static_cast<uint64_t>(n_layers_);
  header.kv_dim = static_cast<uint64_t>(kv_dim_);
  header.n_positions = n;
  const size_t rows_bytes = n * static_cast<size_t>(kv_dim_) * element_bytes();
  std::vector<uint8_t> out;
  out.reserve(sizeof header + n * sizeof(int32_t) + 2 * rows_bytes * n_layers_);
  append(out, &header, 1);
  append(out, tokens.data(), n);
  for (int64_t l = 0; l < n_layers_; ++l) {
    append(out, k_.data() + l * layer_bytes(), rows_bytes);
    append(out, v_.data() + l * layer_bytes(), rows_bytes);
  }
  return out;
}

Result<KvCache> KvCache::deserialize(std::span<const uint8_t> bytes, int64_t n_layers,
                                     int64_t kv_dim, KvType type, int64_t n_ctx,
                                     std::vector<int32_t>* tokens) {
  SnapshotHeader header{};
  if (bytes.size() < sizeof header) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot is truncated ({} bytes)", bytes.size());
  }
  std::memcpy(&header, bytes.data(), sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.version != kFormatVersion) {
    return make_error(ErrorCode::kCorruptFile, "not a KV snapshot of format version {}",
                      kFormatVersion);
  }
  if (header.n_layers != static_cast<uint64_t>(n_layers) ||
      header.kv_dim != static_cast<uint64_t>(kv_dim) ||
      header.type != static_cast<uint32_t>(type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV snapshot was made for {} layers x {} (type {}), not {} x {} (type {})",
                      header.n_layers, header.kv_dim, header.type, n_layers, kv_dim,
                      static_cast<uint32_t>(type));
  }
  const size_t element = type == KvType::kF16 ? 2 : 4;
  const uint64_t n = header.n_positions;
  if (n > static_cast<uint64_t>(INT32_MAX) ||
      bytes.size() != sizeof header + n * sizeof(int32_t) + 2 * n * kv_dim * element * n_layers) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot of {} positions has the wrong size", n);
  }
  CMDAI_ASSIGN_OR_RETURN(
      KvCache cache,
      create(n_layers, std::max<int64_t>(n_ctx, std::max<int64_t>(1, static_cast<int64_t>(n))),
             kv_dim, type));
  const uint8_t* src = bytes.data() + sizeof header;
  tokens->resize(n);
  std::memcpy(tokens->data(), src, n * sizeof(int32_t));
  src += n * sizeof(int32_t);
  const size_t rows_bytes = n * static_cast<size_t>(kv_dim) * element;
  for (int64_t l = 0; l < n_layers; ++l) {
    std::memcpy(cache.k_.data() + l * cache.layer_bytes(), src, rows_bytes);
    src += rows_bytes;
    std::memcpy(cache.v_.data() + l * cache.layer_bytes(), src, rows_bytes);
    src += rows_bytes;
  }
  cache.n_filled_ = static_cast<int32_t>(n);
  return cache;
}

cpu::KvLayerView KvCache::layer(int64_t layer) const {
  const size_t offset = layer * layer_bytes();
  return cpu::KvLayerView{k_.data() + offset, v_.data() + offset, type_ == KvType::kF16};
}

}  // namespace cmdai::model
