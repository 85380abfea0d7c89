// The attention memory of one sequence: every layer's keys and values for positions 0 .. n_ctx-1,
// so each decode step attends to the past without recomputing it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "device/cpu/ops.h"

namespace cmdai::model {

enum class KvType {
  kF16,  // like llama.cpp's default cache: half the memory, rounding ~1e-3 relative
  kF32,  // for the exact reference path
};

class KvCache {
 public:
  // Per layer [n_ctx, kv_dim] for K and for V. kResourceExhausted when that cannot be allocated.
  static Result<KvCache> create(int64_t n_layers, int64_t n_ctx, int64_t kv_dim, KvType type);

  // The context a request needs: prompt plus new tokens, capped by the model's context_length.
  static int64_t context_for(int64_t n_prompt, int64_t max_new_tokens, int64_t context_length);

  int64_t n_layers() const { return n_layers_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  KvType type() const { return type_; }
  size_t size_bytes() const { return k_.size() + v_.size(); }

  // Positions 0 .. n_filled()-1 hold valid keys and values.
  int32_t n_filled() const { return n_filled_; }
  void set_filled(int32_t n) { n_filled_ = n; }
  // Forgets positions n and later, so a shared prefix 0 .. n-1 can be reused; n <= n_filled().
  void truncate(int32_t n);

  // Copies positions 0 .. n-1 of a cache of the same shape and type (to grow a cache while
  // keeping its prefix); n is clamped to what both hold.
  void copy_prefix(const KvCache& from, int32_t n);

  // Writes n_tokens rows of keys and values (each [n_tokens, kv_dim]) at positions pos .. .
  void store(int64_t layer, int32_t pos, int64_t n_tokens, const float* k, const float* v);

  cpu::KvLayerView layer(int64_t layer) const;

  // A self-describing byte image of positions 0 .. tokens.size()-1 and the token ids they hold
  // (tokens.size() <= n_filled()), so a fixed prompt prefix can be computed once and kept on disk.
  std::vector<uint8_t> serialize(std::span<const int32_t> tokens) const;

  // Rebuilds a cache of capacity max(n_ctx, stored positions) from serialize()'s bytes; *tokens
  // receives the stored ids. kCorruptFile when the bytes are damaged, kInvalidArgument when they
  // were made for another shape (n_layers, kv_dim, type), which callers pass to check.
  static Result<KvCache> deserialize(std::span<const uint8_t> bytes, int64_t n_layers,
                                     int64_t kv_dim, KvType type, int64_t n_ctx,
                                     std::vector<int32_t>* tokens);

 private:
  size_t element_bytes() const { return type_ == KvType::kF16 ? 2 : 4; }
  size_t layer_bytes() const { return static_cast<size_t>(n_ctx_ * kv_dim_) * element_bytes(); }

  int64_t n_layers_ = 0;
  int64_t n_ctx_ = 0;
  int64_t kv_dim_ = 0;
  KvType type_ = KvType::kF16;
  int32_t n_filled_ = 0;
  std::vector<uint8_t> k_;
  std::vector<uint8_t> v_;
};

}  // namespace cmdai::model
