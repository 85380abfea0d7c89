// A model on the MLX device: its repacked weights, KV caches and the pre-norm decoder's forward
// pass as one lazy MLX graph per call, all on the model's own MLX thread. Only device/mlx/
// includes this.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "device/device.h"
#include "device/mlx/mlx_thread.h"

namespace cmdai::mlx_device {

class DecodeCompileStatus;  // decode_step.h

// What a model borrows from its device.
struct MlxModelContext {
  const std::string* fault = nullptr;  // the injected fault, read at every pass
  std::string weight_cache_dir;        // "" = repack into memory at every load
  // Bytes of mapped cache files of the device's live models (MLX's counters do not see them).
  std::shared_ptr<std::atomic<size_t>> mapped_bytes;
  // Whether the decode step is compiled, shared with the device (decode_step.h); never null.
  std::shared_ptr<DecodeCompileStatus> compile;
};

// Loads `spec`'s weights on a new MLX thread: from the weight cache (built there first when it is
// missing or stale; when the folder cannot be written, repacked into memory instead). The spec
// must outlive the model (embedding rows are read from the mapped file).
Result<std::unique_ptr<device::DeviceModel>> load_mlx_model(const device::ModelSpec& spec,
                                                            MlxModelContext context);

}  // namespace cmdai::mlx_device
