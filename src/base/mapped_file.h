// A read-only memory map of a whole file: how model weights are used in place, without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace cmdai {

// Files at least this large are mapped at a 2 MiB-aligned address with transparent huge pages
// advised (see MappedFile::open); smaller ones (prefix snapshots, vocabularies) map plainly.
inline constexpr size_t kHugeMappingMinBytes = size_t{4} << 20;

// For a model file just written and synced through `fd`: drops its pages from the page cache, so
// the first load reads it through a huge-page mapping (2 MiB page-cache folios) instead of keeping
// the 4 KiB pages the writes left (which a mapping can only map 4 KiB at a time). No-op for small
// files. Costs one read of the file from disk on its next use.
void release_written_pages(int fd, size_t size);

class MappedFile {
 public:
  // Read-only, private. Files of kHugeMappingMinBytes or more start on a 2 MiB boundary and are
  // advised for transparent huge pages; anything unsupported falls back to a plain mapping.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Asks the kernel to read the mapping ahead (weights are read front to back every token).
  void advise_will_need() const;
  // Drops the mapping now; the object becomes empty.
  void reset();

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace cmdai
