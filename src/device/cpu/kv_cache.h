// The CPU device's KV storage: every layer's keys and values of one sequence in host memory, f16
// or f32, read in place by the attention kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "device/cpu/ops.h"
#include "device/device.h"

namespace cmdai::cpu {

class KvCache final : public device::KvState {
 public:
  // Per layer [n_ctx, kv_dim] for K and for V. kInvalidArgument for non-positive sizes,
  // kResourceExhausted when that cannot be allocated.
  static Result<std::unique_ptr<KvCache>> create(int64_t n_layers, int64_t n_ctx, int64_t kv_dim,
                                                 device::KvType type);

  Status copy_prefix(const device::KvState& from, int32_t n) override;
  Status read_rows(int64_t layer, int32_t pos0, int32_t n, void* k, void* v) const override;
  Status write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k, const void* v) override;

  // Writes n_tokens rows of float keys and values (each [n_tokens, kv_dim]) at positions pos ..,
  // converted to the cache's type.
  void store(int64_t layer, int32_t pos, int64_t n_tokens, const float* k, const float* v);

  KvLayerView layer(int64_t layer) const;

 private:
  KvCache(int64_t n_layers, int64_t n_ctx, int64_t kv_dim, device::KvType type)
      : KvState(n_layers, n_ctx, kv_dim, type) {}
  size_t element_bytes() const { return device::kv_element_bytes(type()); }
  size_t layer_bytes() const { return static_cast<size_t>(n_ctx() * kv_dim()) * element_bytes(); }
  size_t row_offset(int64_t layer, int32_t pos) const {
    return static_cast<size_t>(layer) * layer_bytes() +
           static_cast<size_t>(pos) * static_cast<size_t>(kv_dim()) * element_bytes();
  }

  std::vector<uint8_t> k_;
  std::vector<uint8_t> v_;
};

}  // namespace cmdai::cpu
