#include "backend/inference_backend.h"

namespace cmdai {

std::string_view variant_name(ModelVariant variant) {
  switch (variant) {
    case ModelVariant::kCpu:
      return "cpu";
    case ModelVariant::kCuda:
      return "cuda";
    case ModelVariant::kMlx:
      return "mlx";
  }
  return "unknown";
}

std::string_view memory_type_name(MemoryType type) {
  switch (type) {
    case MemoryType::kHostMapped:
      return "host-mapped";
    case MemoryType::kUnified:
      return "unified";
    case MemoryType::kDevice:
      return "device";
    case MemoryType::kHost:
      return "host";
  }
  return "unknown";
}

}  // namespace cmdai
