// A read-only memory map of a whole file: how model weights are used in place, without copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>

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

  // Fills in the mapping's page tables on a background thread (Linux's MADV_POPULATE_READ), so
  // the first pass over the weights takes no page faults: done in one sweep, while the caller
  // builds its tokenizer, it costs a few ms instead of the ~17 ms of CPU that faults took in a
  // request's first prompt. A no-op where unsupported; errors (a file truncated since it was
  // mapped) are left to the reads that would have faulted anyway. Joined before unmapping.
  void populate_in_background();
  // Waits for populate_in_background's thread, if there is one.
  void wait_for_population();
  // Drops the mapping now; the object becomes empty.
  void reset();

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  std::thread populating_;
};

}  // namespace cmdai
