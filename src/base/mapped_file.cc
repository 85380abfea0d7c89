#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace cmdai {
namespace {

// Maps a large file read-only at a 2 MiB-aligned address and asks for transparent huge pages.
// Where the page cache holds the file in 2 MiB folios (Linux with large-folio file systems such as
// ext4 on 6.x: it does once the file is first read through such a mapping), every 2 MiB of weights
// is then one page-table entry: a process touches a 1 GB model with ~500 faults instead of ~16,000
// (measured: 11 ms instead of ~80 ms here), and streaming the weights takes no TLB misses.
// Anything unsupported falls back to a plain mapping (same contents, 4 KiB pages).
void* map_read_only(int fd, size_t size) {
  constexpr size_t kHuge = size_t{2} << 20;
  const auto map_plain = [&] { return ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0); };
  if (size < kHugeMappingMinBytes) return map_plain();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto round_up = [](size_t n, size_t to) { return (n + to - 1) / to * to; };
  const size_t reserved_size = round_up(size + kHuge, page);
  void* reserved =
      ::mmap(nullptr, reserved_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return map_plain();
  const uintptr_t base = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (base + kHuge - 1) & ~static_cast<uintptr_t>(kHuge - 1);
  void* addr =
      ::mmap(reinterpret_cast<void*>(aligned), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (addr == MAP_FAILED) {
    ::munmap(reserved, reserved_size);
    return map_plain();
  }
  // Hand back the parts of the reservation before and after the file.
  if (aligned > base) ::munmap(reserved, aligned - base);
  const uintptr_t file_end = aligned + round_up(size, page), reserved_end = base + reserved_size;
  if (reserved_end > file_end) ::munmap(reinterpret_cast<void*>(file_end), reserved_end - file_end);
#ifdef MADV_HUGEPAGE
  ::madvise(addr, size, MADV_HUGEPAGE);  // advice only: ignored where THP is off
#endif
  return addr;
}

}  // namespace

void release_written_pages(int fd, size_t size) {
  if (fd < 0 || size < kHugeMappingMinBytes) return;
  ::fdatasync(fd);  // only clean pages can be dropped (callers have usually synced already)
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO (or a link to one) must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
    return make_error(code, "cannot open '{}': {}", path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(ErrorCode::kIo, "cannot stat '{}': {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, "'{}' is not a regular file", path);
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* addr = map_read_only(fd, file.size_);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kIo, "cannot map '{}': {}", path, std::strerror(err));
    }
    file.data_ = static_cast<const uint8_t*>(addr);
  }
  ::close(fd);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_),
      size_(other.size_),
      path_(std::move(other.path_)),
      populating_(std::move(other.populating_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    populating_ = std::move(other.populating_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::populate_in_background() {
#ifdef MADV_POPULATE_READ
  if (data_ == nullptr || populating_.joinable()) return;
  void* const addr = const_cast<uint8_t*>(data_);
  const size_t size = size_;
  try {
    populating_ = std::thread([addr, size] {
      // In 16 MiB pieces (2 MiB-aligned, like the mapping): each call holds the process's mmap
      // lock, and the caller's own mmap/munmap calls (allocations, cache files) wait for it; one
      // whole-file call moved ~15 ms into the request's load.
      constexpr size_t kPiece = size_t{16} << 20;
      auto* p = static_cast<uint8_t*>(addr);
      for (size_t off = 0; off < size; off += kPiece) {
        if (::madvise(p + off, std::min(kPiece, size - off), MADV_POPULATE_READ) != 0) break;
      }
    });
  } catch (const std::system_error&) {
    // No thread to be had: the first reads fault the pages in, as without this call.
  }
#endif
}

void MappedFile::wait_for_population() {
  if (populating_.joinable()) populating_.join();
}

void MappedFile::reset() {
  wait_for_population();
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace cmdai
