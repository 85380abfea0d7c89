// GGUF weight matrices repacked into MLX's affine quantized layout (quantized_matmul, group 32):
// plain host code, so the packing is testable on its own and can write straight into a cache file.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.h"
#include "device/weight_matrix.h"

namespace cmdai::mlx_device {

inline constexpr int kGroupSize = 32;

// How one GGUF type is held for MLX. Affine: w = scale * q + bias per group of 32 columns, q an
// unsigned `bits`-bit integer packed little-endian into uint32 words (element i of a row at bit
// i * bits), scale and bias float32. Dense: the file's elements as they are.
enum class DenseType { kNone, kF32, kF16, kBF16 };
struct MlxForm {
  int bits = 0;  // 4, 5 or 8 for affine; 0 for dense
  DenseType dense = DenseType::kNone;
  bool exact = true;  // false where the repacking rounds (q6_K)
};

// kUnsupported for a type without an MLX form (or cols not a multiple of 32 for quantized types).
Result<MlxForm> mlx_form_of(const device::WeightMatrix& m);

// Sizes of the repacked arrays for a matrix of form `form`.
struct RepackedSizes {
  size_t word_count = 0;   // uint32 words: rows * cols * bits / 32 (affine only)
  size_t group_count = 0;  // scales and biases: rows * cols / 32 (affine only)
  size_t dense_bytes = 0;  // the dense copy (dense only)
};
RepackedSizes repacked_sizes(const device::WeightMatrix& m, const MlxForm& form);

// Repacks rows [row0, row1) of an affine-form matrix: words point at row0's first word, scales
// and biases at its first group.
void repack_affine_rows(const device::WeightMatrix& m, const MlxForm& form, int64_t row0,
                        int64_t row1, uint32_t* words, float* scales, float* biases);

// The whole matrix, rows split over the machine's cores (load time): affine forms into words,
// scales and biases, dense ones into `dense` (the file's rows copied).
void repack_matrix(const device::WeightMatrix& m, const MlxForm& form, uint32_t* words,
                   float* scales, float* biases, uint8_t* dense);

// q6_K's 16-element sub-blocks have no exact affine form with groups of 32: each group of 32 is
// quantized again to 8 bits from its min and max: the rounding this adds is at most an eighth of
// the larger sub-block's q6_K step (63 steps spread over 255), measured in repack_test.cc and
// docs/MLX.md.
inline constexpr int kQ6KBits = 8;

}  // namespace cmdai::mlx_device
