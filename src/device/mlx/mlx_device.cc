#include "device/mlx/mlx_device.h"

#include <fmt/format.h>
#include <mlx/mlx.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "device/mlx/decode_step.h"
#include "device/mlx/mlx_model.h"
#include "device/mlx/mlx_thread.h"
#include "device/mlx/repack.h"

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;

class MlxDevice final : public device::Device {
 public:
  MlxDevice(bool metal, std::string weight_cache_dir, bool compile_decode)
      : metal_(metal),
        weight_cache_dir_(std::move(weight_cache_dir)),
        mapped_bytes_(std::make_shared<std::atomic<size_t>>(0)),
        compile_(std::make_shared<DecodeCompileStatus>(compile_decode)) {}

  device::DeviceKind kind() const override { return device::DeviceKind::kMlx; }
  // CR-MLX-002: Apple Silicon's GPU shares the host's memory; MLX's CPU backend keeps its own
  // repacked copy in ordinary host memory.
  device::MemoryKind memory_kind() const override {
    return metal_ ? device::MemoryKind::kUnified : device::MemoryKind::kHost;
  }
  std::string description() const override {
    const std::string version =
        fmt::format("MLX {}.{}.{}", MLX_VERSION_MAJOR, MLX_VERSION_MINOR, MLX_VERSION_PATCH);
    if (metal_) {
      return fmt::format("mlx: {} Metal GPU, unified memory, {}", version, compile_->describe());
    }
    return fmt::format("mlx: {} CPU backend (Metal only on macOS arm64), host memory, {}", version,
                       compile_->describe());
  }
  // What MLX's allocator holds (weights, caches, activations) plus the mapped weight caches of
  // live models: the measure of CR-MLX-009.
  device::DeviceMemory memory() const override {
    device::DeviceMemory memory;
    (void)guard_mlx("reading its memory counters", [&] {
      memory.used_bytes = mx::get_active_memory() + mapped_bytes_->load();
      return ok_status();
    });
    return memory;
  }
  KernelChoice kernels_for(TensorType type) const override {
    device::WeightMatrix probe;
    probe.type = type;
    probe.cols = kGroupSize;
    auto form = mlx_form_of(probe);
    if (!form.ok()) return {};
    const std::string what = form->bits == 0 ? std::string("mlx matmul")
                                             : fmt::format("mlx affine {}-bit g32{}", form->bits,
                                                           form->exact ? "" : " (requantized)");
    return {what, what};
  }
  void inject_fault(std::string what) override { fault_ = std::move(what); }
  Result<std::unique_ptr<device::DeviceModel>> load(const device::ModelSpec& spec) override {
    return load_mlx_model(spec, {&fault_, weight_cache_dir_, mapped_bytes_, compile_});
  }

 private:
  bool metal_;
  std::string weight_cache_dir_;
  std::shared_ptr<std::atomic<size_t>> mapped_bytes_;
  std::shared_ptr<DecodeCompileStatus> compile_;
  std::string fault_;
};

// Where repacked weights are kept: CMDAI_MLX_WEIGHT_CACHE ("off": nowhere), else
// <cache>/mlx-weights under cmdai's cache folder (CMDAI_CACHE_DIR, $XDG_CACHE_HOME/cmdai or
// ~/.cache/cmdai, as the model catalog resolves it). Read here, at the device's one entry point,
// because DeviceOptions does not carry a cache folder yet.
std::string weight_cache_dir() {
  const auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  const std::string chosen = env("CMDAI_MLX_WEIGHT_CACHE");
  if (chosen == "off") return "";
  if (!chosen.empty()) return chosen;
  if (!env("CMDAI_CACHE_DIR").empty()) return env("CMDAI_CACHE_DIR") + "/mlx-weights";
  if (!env("XDG_CACHE_HOME").empty()) return env("XDG_CACHE_HOME") + "/cmdai/mlx-weights";
  if (!env("HOME").empty()) return env("HOME") + "/.cache/cmdai/mlx-weights";
  return "";
}

}  // namespace

Result<std::unique_ptr<device::Device>> open_mlx_device(const device::DeviceOptions&) {
  bool metal = false;
  const Status probed = guard_mlx("starting", [&] {
    metal = mx::metal::is_available();
    // Without Metal, MLX's CPU backend (never a CUDA build of MLX: not what this device targets).
    mx::set_default_device(metal ? mx::Device::gpu : mx::Device::cpu);
    return ok_status();
  });
  if (!probed.ok()) {
    return make_error(ErrorCode::kPlatformUnsupported, "MLX cannot start: {}; use --backend cpu",
                      probed.error().message);
  }
  // Read here, at the device's one entry point, like the weight cache's folder.
  const bool compile = decode_compile_wanted(metal, std::getenv("CMDAI_MLX_COMPILE"));
  return std::unique_ptr<device::Device>(
      std::make_unique<MlxDevice>(metal, weight_cache_dir(), compile));
}

}  // namespace cmdai::mlx_device
