// A ModelSpec's weights as MLX arrays: every matrix repacked once (repack.h) into memory from
// MLX's allocator, vectors (norms, biases) copied as float32. Only device/mlx/ includes this.
#pragma once

#include <mlx/mlx.h>

#include <optional>
#include <vector>

#include "base/result.h"
#include "device/device.h"
#include "device/mlx/weight_cache.h"

namespace cmdai::mlx_device {

// One weight matrix [rows, cols] in MLX's form: affine (w: uint32 [rows, cols*bits/32], scales
// and biases: float32 [rows, cols/32]) or dense (w: f32/f16/bf16 [rows, cols]).
struct MlxMatrix {
  int bits = 0;  // 0: dense
  mlx::core::array w = mlx::core::array(0.0f);
  mlx::core::array scales = mlx::core::array(0.0f);
  mlx::core::array biases = mlx::core::array(0.0f);
};

struct MlxLayer {
  mlx::core::array attn_norm = mlx::core::array(0.0f);
  MlxMatrix attn_q, attn_k, attn_v, attn_output;
  std::optional<mlx::core::array> attn_q_bias, attn_k_bias, attn_v_bias;
  mlx::core::array ffn_norm = mlx::core::array(0.0f);
  MlxMatrix ffn_gate, ffn_up, ffn_down;
};

struct MlxWeights {
  std::vector<MlxLayer> layers;
  mlx::core::array output_norm = mlx::core::array(0.0f);
  MlxMatrix output;
  size_t bytes = 0;  // repacked matrices and vectors
};

// x [..., cols] times m's transpose: [..., rows]. Dense f16/bf16 weights are widened to f32 per
// call (the q-types of Q4_K_M and Q8_0 files never take that path).
mlx::core::array linear(const mlx::core::array& x, const MlxMatrix& m);

// Every matrix of `spec` in MLX's form (kUnsupported for a type without one): wrapped without a
// copy from `cache` (whose mapping the arrays keep alive) when there is one, else repacked into
// MLX's memory. MLX may throw: call inside guard_mlx.
Result<MlxWeights> upload_weights(const device::ModelSpec& spec,
                                  std::shared_ptr<const WeightCache> cache);

}  // namespace cmdai::mlx_device
