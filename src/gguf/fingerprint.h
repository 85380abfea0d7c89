// A cheap fingerprint of a GGUF file's content, so caches derived from a model (KV snapshots)
// can tell its weights from another file's even when path, size and mtime are the same.
#pragma once

#include <cstdint>

#include "gguf/gguf_file.h"

namespace cmdai::gguf {

// Hashes the header (version, data offset, metadata count) and the tensor table (names, types,
// shapes, offsets), and samples every tensor's bytes (64 at its start, middle and end). Touches a
// few pages per tensor, not the whole file.
uint64_t content_fingerprint(const GgufFile& file);

}  // namespace cmdai::gguf
