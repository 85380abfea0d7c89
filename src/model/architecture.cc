#include "model/architecture.h"

namespace cmdai::model {

const ArchitectureTraits& traits_of(Architecture arch) {
  switch (arch) {
    case Architecture::kQwen2:
      return qwen2_traits();
    case Architecture::kLlama:
      return llama_traits();
  }
  return llama_traits();
}

}  // namespace cmdai::model
