// Qwen2: a pre-norm llama-style decoder whose q/k/v projections carry biases and whose RoPE
// rotates the two halves of each head (NEOX style).
#include "model/architecture.h"

namespace cmdai::model {

const ArchitectureTraits& qwen2_traits() {
  static const ArchitectureTraits traits{"qwen2", device::RopeStyle::kHalves,
                                         /*requires_qkv_bias=*/true};
  return traits;
}

}  // namespace cmdai::model
