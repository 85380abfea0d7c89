// The one-token decode step through mlx::core::compile: one trace for every step of a cache (the
// position is an array input, the attention reads the whole cache through a mask), when it is
// compiled (the policy below) and what the device says about it. Only device/mlx/ includes this.
#pragma once

#include <mlx/mlx.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "device/device.h"
#include "device/mlx/mlx_weights.h"

namespace cmdai::mlx_device {

// Whether the decode step is compiled: CMDAI_MLX_COMPILE=0 never, =1 always, otherwise on Metal
// only. MLX's CPU backend compiles by writing C++ and running `g++` at run time (into
// $TMPDIR/mlx), which a user's machine need not have, so there it is asked for, not assumed.
bool decode_compile_wanted(bool metal, const char* env_value);

// Shared by a device and its models: whether their decode step is compiled, and why not.
class DecodeCompileStatus {
 public:
  explicit DecodeCompileStatus(bool wanted) : wanted_(wanted) {}

  // Wanted and not failed yet.
  bool active() const;
  // A compiled step failed (no usable compiler): every model of the device runs uncompiled.
  void record_failure(std::string what);
  std::optional<std::string> failure() const;
  // For the device's description (doctor, bench, --verbose), e.g. "decode step compiled".
  std::string describe() const;

 private:
  const bool wanted_;
  mutable std::mutex mutex_;
  std::optional<std::string> failure_;
};

// A model's compiled decode step. Built and called on the model's MLX thread; `spec` and `weights`
// must outlive it (the trace holds the weights as constants).
class CompiledDecode {
 public:
  CompiledDecode(const device::ModelSpec& spec, const MlxWeights& weights);

  // One token's step: x [1, 1, hidden_dim] at position `pos` of caches k and v (per layer
  // [1, n_kv_heads, rows, head_dim] float16, replaced by the updated arrays). Returns the logits
  // [1, 1, vocab_size] float32, lazy: the caller evaluates them with the caches.
  mlx::core::array step(const mlx::core::array& x, int32_t pos, std::vector<mlx::core::array>& k,
                        std::vector<mlx::core::array>& v);

 private:
  std::function<std::vector<mlx::core::array>(const std::vector<mlx::core::array>&)> compiled_;
};

}  // namespace cmdai::mlx_device
