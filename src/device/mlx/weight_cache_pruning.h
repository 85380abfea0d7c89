// Keeps the MLX weight cache folder bounded: a model's repacked copy is as large as the model, so
// when a new one is written, files of other formats, leftovers of interrupted writes and all but
// the most recently used copies are removed. Plain C++, best effort: pruning never fails a load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cmdai::mlx_device {

// Repacked models kept in the folder, the one just written included.
inline constexpr size_t kWeightCachesKept = 3;

// Marks a cache file as used now (its modification time), so pruning keeps recently used models.
void mark_weight_cache_used(const std::string& path);

// In `dir`: removes `<fingerprint>.v<N>.mlxw` files whose N is not `version`, temporary
// `….mlxw.tmp.<pid>` files whose writer is gone (or that are a day old), and the least recently
// used current files beyond `keep` (never `just_written`). Files of other names are not touched.
// Returns the removed paths.
std::vector<std::string> prune_weight_caches(const std::string& dir,
                                             const std::string& just_written, uint32_t version,
                                             size_t keep = kWeightCachesKept);

}  // namespace cmdai::mlx_device
