// A model on the MLX device: its repacked weights, KV caches and the pre-norm decoder's forward
// pass as one lazy MLX graph per call, all on the model's own MLX thread. Only device/mlx/
// includes this.
#pragma once

#include <memory>
#include <string>

#include "device/device.h"
#include "device/mlx/mlx_thread.h"

namespace cmdai::mlx_device {

// Repacks `spec`'s weights on a new MLX thread. `fault` is the device's injected fault (read at
// every pass). The spec must outlive the model (embedding rows are read from the mapped file).
Result<std::unique_ptr<device::DeviceModel>> load_mlx_model(const device::ModelSpec& spec,
                                                            const std::string* fault);

}  // namespace cmdai::mlx_device
