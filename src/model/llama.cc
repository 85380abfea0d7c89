// Llama: a pre-norm decoder (RMSNorm, rotary attention with grouped-query heads, SwiGLU) whose
// RoPE rotates adjacent pairs; projections have biases only where the file has them.
#include "model/architecture.h"

namespace cmdai::model {

const ArchitectureTraits& llama_traits() {
  static const ArchitectureTraits traits{"llama", device::RopeStyle::kAdjacentPairs,
                                         /*requires_qkv_bias=*/false};
  return traits;
}

}  // namespace cmdai::model
