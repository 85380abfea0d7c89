// Repacked weights on disk (CR-MLX-003: load under 100 ms): the affine arrays of every matrix of a
// model in one file, keyed by a fingerprint of the model's weights and a format version, mapped
// and handed to MLX without copies. A damaged, stale or foreign file is rebuilt, never trusted.
// Plain C++: the MLX side (wrapping the mapped arrays) is in mlx_weights.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "device/device.h"
#include "device/mlx/repack.h"

namespace cmdai::mlx_device {

// Bumped whenever the repacked layout or the file's format changes: older files are rebuilt.
inline constexpr uint32_t kWeightCacheVersion = 1;

// The matrices of a spec in the one order the cache and the loader share: per layer q, k, v,
// output, gate, up, down; then the output matrix.
std::vector<const device::WeightMatrix*> spec_matrices(const device::ModelSpec& spec);

// Shapes, types and 64-byte samples of every matrix (start, middle, end): tells one model's
// weights from another's, like the KV snapshots' content fingerprint, touching a few pages each.
uint64_t spec_fingerprint(const device::ModelSpec& spec);

// One matrix's arrays inside the mapped file (affine: words, scales, biases; dense: words only).
struct CachedMatrix {
  MlxForm form;
  const uint8_t* words = nullptr;  // or the dense elements
  const float* scales = nullptr;
  const float* biases = nullptr;
};

class WeightCache {
 public:
  // `dir`/<fingerprint>.mlxw: opened when it is whole and of this spec, else (re)built there
  // (written to a temporary name, then renamed). kIo when the folder cannot be written.
  static Result<std::shared_ptr<WeightCache>> open_or_build(const std::string& dir,
                                                            const device::ModelSpec& spec);

  const std::vector<CachedMatrix>& matrices() const { return matrices_; }
  size_t size_bytes() const { return file_.size(); }
  bool was_built() const { return built_; }  // false: an existing file was reused

 private:
  static Result<std::shared_ptr<WeightCache>> open(const std::string& path,
                                                   const device::ModelSpec& spec);
  static Status build(const std::string& path, const device::ModelSpec& spec);

  MappedFile file_;
  std::vector<CachedMatrix> matrices_;
  bool built_ = false;
};

}  // namespace cmdai::mlx_device
