// The one place below the CLI that names concrete devices: parsing a choice, opening it, and the
// order `auto` tries them in.
#include <fmt/format.h>

#include "device/cpu/cpu_device.h"
#include "device/device.h"
#if defined(CMDAI_HAVE_CUDA)
#include "device/cuda/cuda_device.h"
#endif
#if defined(CMDAI_HAVE_MLX)
#include "device/mlx/mlx_device.h"
#endif

namespace cmdai::device {

std::string_view device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kMlx:
      return "mlx";
  }
  return "unknown";
}

Result<DeviceChoice> parse_device_choice(std::string_view name) {
  if (name == "auto" || name.empty()) return DeviceChoice::kAuto;
  if (name == "cpu") return DeviceChoice::kCpu;
  if (name == "cuda") return DeviceChoice::kCuda;
  if (name == "mlx") return DeviceChoice::kMlx;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown backend '{}' (use auto, cpu, cuda or mlx)", name);
}

std::vector<DeviceKind> compiled_devices() {
  std::vector<DeviceKind> kinds;
#if defined(CMDAI_HAVE_CUDA)
  kinds.push_back(DeviceKind::kCuda);
#endif
#if defined(CMDAI_HAVE_MLX)
  kinds.push_back(DeviceKind::kMlx);
#endif
  kinds.push_back(DeviceKind::kCpu);
  return kinds;
}

namespace {

Result<std::unique_ptr<Device>> open_cuda(const DeviceOptions& options) {
#if defined(CMDAI_HAVE_CUDA)
  return cuda::open_cuda_device(options);
#else
  (void)options;
  return make_error(ErrorCode::kPlatformUnsupported,
                    "the CUDA device is not part of this build (configure with `cmake --preset "
                    "cuda` on a machine with the CUDA toolkit), use --backend cpu");
#endif
}

Result<std::unique_ptr<Device>> open_mlx(const DeviceOptions& options) {
#if defined(CMDAI_HAVE_MLX)
  return mlx_device::open_mlx_device(options);
#else
  (void)options;
  return make_error(ErrorCode::kPlatformUnsupported,
                    "the MLX device is not part of this build (it needs MLX: macOS on Apple "
                    "Silicon, or the 'mlx' preset on Linux); use --backend cpu");
#endif
}

// auto takes MLX only where it runs on Metal: on MLX's CPU backend (Linux) the CPU device is
// faster.
bool is_worth_auto(const Device& device) { return device.memory_kind() == MemoryKind::kUnified; }

}  // namespace

Result<std::unique_ptr<Device>> open_device(DeviceChoice choice, const DeviceOptions& options) {
  switch (choice) {
    case DeviceChoice::kCpu:
      return cpu::make_cpu_device(options.threads);
    case DeviceChoice::kCuda:
      return open_cuda(options);
    case DeviceChoice::kMlx:
      return open_mlx(options);
    case DeviceChoice::kAuto:
      for (DeviceKind kind : compiled_devices()) {
        if (kind == DeviceKind::kCuda) {
          if (auto cuda = open_cuda(options); cuda.ok()) return cuda;
        }
        if (kind == DeviceKind::kMlx) {
          if (auto mlx = open_mlx(options); mlx.ok() && is_worth_auto(**mlx)) return mlx;
        }
      }
      return cpu::make_cpu_device(options.threads);
  }
  return make_error(ErrorCode::kInternal, "unknown device choice");
}

}  // namespace cmdai::device
