// The CPU device: weights used in place from the mapped file, kernels chosen per instruction set
// at run time, a persistent thread pool, and the exact f64-accumulating path that every other
// device is tested against.
#pragma once

#include <memory>
#include <string>

#include "device/device.h"

namespace cmdai::cpu {

// threads: workers including the caller; 0 = one per core.
std::unique_ptr<device::Device> make_cpu_device(int threads);

}  // namespace cmdai::cpu
