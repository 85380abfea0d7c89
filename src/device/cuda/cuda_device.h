// The CUDA device: weights uploaded once into GPU memory (q6_K and q8_0 repacked for aligned
// loads), the KV cache on the GPU, the forward pass as fused kernels on one stream, and a decode
// step replayed as a CUDA graph. Plain C++: no CUDA header here.
#pragma once

#include <memory>

#include "base/result.h"
#include "device/device.h"

namespace cmdai::cuda {

// kPlatformUnsupported in one line when there is no usable GPU: no driver, a driver older than
// this build's runtime, no device, or one too old for the kernels compiled in.
Result<std::unique_ptr<device::Device>> open_cuda_device(const device::DeviceOptions& options);

}  // namespace cmdai::cuda
