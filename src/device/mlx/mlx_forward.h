// The pre-norm decoder's forward pass as a lazy MLX graph: one recipe for the eager pass (prefill,
// and decode when not compiled) and the compiled decode step's trace. Only device/mlx/ includes
// this.
#pragma once

#include <mlx/mlx.h>

#include <optional>
#include <vector>

#include "device/device.h"
#include "device/mlx/mlx_weights.h"

namespace cmdai::mlx_device {

// Where a pass's tokens go in the cache, fixed or as arrays.
struct PassPositions {
  // Eager: the first token's position, fixed in the graph; the attention reads the cache up to
  // the pass's last token.
  int32_t pos = 0;
  // Compiled decode (one token): its position as an int32 array [1] (an input of the trace) and
  // the bool mask [1, 1, 1, rows] of the positions 0 .. pos. The attention reads the whole cache
  // with that mask, so nothing in the graph depends on the step and one trace serves them all.
  std::optional<mlx::core::array> pos_array, mask;
};

// The mask of PassPositions for a one-token step at `pos_array` (int32 [1]) over the cache's rows.
mlx::core::array positions_written(const mlx::core::array& pos_array, int rows);

// Every layer over the residual stream x [1, n, hidden_dim] -> [1, n, hidden_dim]. The tokens'
// keys and values are written at `at` into k and v (per layer [1, n_kv_heads, rows, head_dim]
// float16), whose arrays are replaced by the updated ones.
mlx::core::array decoder_layers(const device::ModelSpec& spec, const MlxWeights& weights,
                                mlx::core::array x, const PassPositions& at,
                                std::vector<mlx::core::array>& k, std::vector<mlx::core::array>& v);

// The final norm and output matrix: x [1, rows, hidden_dim] -> logits [1, rows, vocab_size]
// float32.
mlx::core::array output_logits(const device::ModelSpec& spec, const MlxWeights& weights,
                               const mlx::core::array& x);

}  // namespace cmdai::mlx_device
