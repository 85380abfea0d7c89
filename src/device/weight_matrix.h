// A weight matrix as the GGUF file stores it: the bytes every device reads (the CPU in place, the
// others once, to repack into their own layout).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace cmdai::device {

// `rows` rows of `cols` elements of `type`, each row `row_bytes` long (GGUF layout: ne[0] = cols).
struct WeightMatrix {
  TensorType type = TensorType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;
};

}  // namespace cmdai::device
