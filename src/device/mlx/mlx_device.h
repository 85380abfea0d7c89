// The MLX device: Apple's MLX runs the model (Metal on Apple Silicon; MLX's CPU backend
// elsewhere, which is how it is verified on Linux). Plain C++: no MLX header here.
#pragma once

#include <memory>

#include "base/result.h"
#include "device/device.h"

namespace cmdai::mlx_device {

// Opens MLX: Metal where MLX has it, else MLX's CPU backend (docs/MLX.md).
Result<std::unique_ptr<device::Device>> open_mlx_device(const device::DeviceOptions& options);

}  // namespace cmdai::mlx_device
