#include "device/mlx/decode_step.h"

#include <fmt/format.h>

#include <string_view>

#include "device/mlx/mlx_forward.h"

namespace cmdai::mlx_device {

namespace mx = mlx::core;

bool decode_compile_wanted(bool metal, const char* env_value) {
  const std::string_view env = env_value != nullptr ? env_value : "";
  if (env == "0") return false;
  if (env == "1") return true;
  return metal;
}

bool DecodeCompileStatus::active() const {
  std::lock_guard lock(mutex_);
  return wanted_ && !failure_;
}

void DecodeCompileStatus::record_failure(std::string what) {
  std::lock_guard lock(mutex_);
  if (!failure_) failure_ = std::move(what);
}

std::optional<std::string> DecodeCompileStatus::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

std::string DecodeCompileStatus::describe() const {
  std::lock_guard lock(mutex_);
  if (failure_) return fmt::format("decode step not compiled: compiling it failed ({})", *failure_);
  return wanted_ ? "decode step compiled" : "decode step not compiled (CMDAI_MLX_COMPILE=1 does)";
}

CompiledDecode::CompiledDecode(const device::ModelSpec& spec, const MlxWeights& weights) {
  // Inputs {x, pos, k[0..L), v[0..L)}, outputs {logits, k[0..L), v[0..L)}. MLX keys its traces
  // by the inputs' shapes: one per cache size, reused by every step.
  const size_t n_layers = weights.layers.size();
  compiled_ = mx::compile([&spec, &weights, n_layers](const std::vector<mx::array>& in) {
    std::vector<mx::array> k(in.begin() + 2, in.begin() + 2 + n_layers);
    std::vector<mx::array> v(in.begin() + 2 + n_layers, in.end());
    PassPositions at;
    at.pos_array = in[1];
    at.mask = positions_written(in[1], k[0].shape(2));
    const mx::array x = decoder_layers(spec, weights, in[0], at, k, v);
    std::vector<mx::array> out = {output_logits(spec, weights, x)};
    out.insert(out.end(), k.begin(), k.end());
    out.insert(out.end(), v.begin(), v.end());
    return out;
  });
}

mx::array CompiledDecode::step(const mx::array& x, int32_t pos, std::vector<mx::array>& k,
                               std::vector<mx::array>& v) {
  const size_t n_layers = k.size();
  std::vector<mx::array> in = {x, mx::array({pos}, mx::int32)};
  // Moved, not copied: once `in` is gone the old caches are held by the updates alone, so MLX
  // writes the new row into their buffers instead of copying every cache.
  for (auto* caches : {&k, &v}) {
    for (mx::array& a : *caches) in.push_back(std::move(a));
  }
  std::vector<mx::array> out;
  try {
    out = compiled_(in);
  } catch (...) {
    for (size_t l = 0; l < n_layers; ++l) {  // a failed trace leaves the caches as they were
      k[l] = std::move(in[2 + l]);
      v[l] = std::move(in[2 + n_layers + l]);
    }
    throw;
  }
  in.clear();
  for (size_t l = 0; l < n_layers; ++l) {
    k[l] = std::move(out[1 + l]);
    v[l] = std::move(out[1 + n_layers + l]);
  }
  return out[0];
}

}  // namespace cmdai::mlx_device
