#include "gguf/fingerprint.h"

#include <algorithm>

#include "base/fnv1a.h"

namespace cmdai::gguf {

uint64_t content_fingerprint(const GgufFile& file) {
  uint64_t h = kFnv1aOffset;
  const auto mix = [&h](const void* data, size_t size) { h = fnv1a(data, size, h); };
  const uint32_t version = file.version();
  const uint64_t data_offset = file.data_offset(), n_metadata = file.metadata().size();
  mix(&version, sizeof version);
  mix(&data_offset, sizeof data_offset);
  mix(&n_metadata, sizeof n_metadata);
  constexpr uint64_t kSample = 64;
  for (const TensorInfo& t : file.tensors()) {
    mix(t.name.data(), t.name.size());
    const auto type = static_cast<uint32_t>(t.type);
    mix(&type, sizeof type);
    mix(t.ne.data(), t.ne.size() * sizeof(int64_t));
    mix(&t.offset, sizeof t.offset);
    mix(&t.size_bytes, sizeof t.size_bytes);
    if (t.data == nullptr || t.size_bytes == 0) continue;
    const uint64_t n = std::min(kSample, t.size_bytes);
    for (uint64_t at : {uint64_t{0}, (t.size_bytes - n) / 2, t.size_bytes - n}) mix(t.data + at, n);
  }
  return h;
}

}  // namespace cmdai::gguf
