// The KV cache of one sequence as MLX arrays: per layer K and V of [1, n_kv_heads, rows,
// head_dim] in float16 (rows: n_ctx rounded up, see mlx_kv.cc), allocated once and updated in
// place (slice_update on an array nothing else holds reuses its buffer). Only device/mlx/
// includes this.
#pragma once

#include <mlx/mlx.h>

#include <memory>
#include <vector>

#include "device/device.h"
#include "device/mlx/mlx_thread.h"

namespace cmdai::mlx_device {

class MlxKv final : public device::KvState {
 public:
  // Allocates on `thread` (the model's): kResourceExhausted when MLX cannot.
  static Result<std::unique_ptr<MlxKv>> create(std::shared_ptr<MlxThread> thread,
                                               const device::TransformerShape& shape,
                                               int64_t n_ctx);
  ~MlxKv() override;  // frees the arrays on their thread

  // On the model's thread only (inside a forward pass): every layer's K and V, which the pass
  // replaces by the updated arrays (mlx_forward.h).
  std::vector<mlx::core::array>& k() { return k_; }
  std::vector<mlx::core::array>& v() { return v_; }
  int64_t rows() const { return k_.front().shape(2); }  // n_ctx or more
  // Every layer's arrays, to evaluate them with a pass's logits.
  std::vector<mlx::core::array> arrays() const;
  const MlxThread* thread() const { return thread_.get(); }

  Status copy_prefix(const device::KvState& from, int32_t n) override;
  Status read_rows(int64_t layer, int32_t pos0, int32_t n, void* k, void* v) const override;
  Status write_rows(int64_t layer, int32_t pos0, int32_t n, const void* k, const void* v) override;

 private:
  MlxKv(std::shared_ptr<MlxThread> thread, const device::TransformerShape& shape, int64_t n_ctx);
  // Keys and values of positions pos .. pos+n-1, [1, n_kv_heads, n, head_dim] each, written into
  // layer `layer`; the layer's K and V of positions 0 .. n-1.
  void write(int64_t layer, int32_t pos, const mlx::core::array& k, const mlx::core::array& v);
  mlx::core::array keys(int64_t layer, int32_t n) const;
  mlx::core::array values(int64_t layer, int32_t n) const;

  std::shared_ptr<MlxThread> thread_;
  int n_kv_heads_, head_dim_;
  std::vector<mlx::core::array> k_, v_;
};

}  // namespace cmdai::mlx_device
