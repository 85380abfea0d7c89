// What each supported architecture does differently, as data the devices act on: one definition
// per architecture file (qwen2.cc, llama.cc).
#pragma once

#include <string_view>

#include "device/device.h"
#include "model/hparams.h"

namespace cmdai::model {

struct ArchitectureTraits {
  std::string_view name;  // general.architecture
  device::RopeStyle rope_style = device::RopeStyle::kAdjacentPairs;
  // q/k/v biases must be present (qwen2); otherwise they are bound when the file has them.
  bool requires_qkv_bias = false;
};

const ArchitectureTraits& qwen2_traits();
const ArchitectureTraits& llama_traits();
const ArchitectureTraits& traits_of(Architecture arch);

}  // namespace cmdai::model
