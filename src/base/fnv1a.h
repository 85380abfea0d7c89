// FNV-1a, 64-bit: a small, stable hash for cache-file keys and checksums (not for adversaries).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cmdai {

inline constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;

// Continues `hash` over `size` bytes at `data`; chain calls to hash several fields.
inline uint64_t fnv1a(const void* data, size_t size, uint64_t hash = kFnv1aOffset) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

// The same idea a 64-bit word at a time (then the tail bytes): about eight times faster, for
// checksums of megabyte-sized cache files. Not interchangeable with fnv1a().
inline uint64_t fnv1a_words(const void* data, size_t size, uint64_t hash = kFnv1aOffset) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    __builtin_memcpy(&word, bytes + i, 8);
    hash = (hash ^ word) * 0x100000001b3ull;
    hash ^= hash >> 29;
  }
  return fnv1a(bytes + i, size - i, hash);
}

}  // namespace cmdai
