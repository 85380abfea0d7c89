#include "base/mapped_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

namespace cmdai {
namespace {

TEST(MappedFile, MapsBytesOfFile) {
  const auto path = std::filesystem::temp_directory_path() / "cmdai_mapped_file_test.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello";
  }
  auto file = MappedFile::open(path.string());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  ASSERT_EQ(file->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file->data()), 5), "hello");
  std::filesystem::remove(path);
}

std::filesystem::path write_pattern_file(const char* name, size_t size) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), size);
  return path;
}

// Issue 15 defect 4: opening a FIFO waited for a writer forever. The open runs in a child that an
// alarm ends, so a regression fails the test instead of hanging it.
TEST(MappedFile, AFifoOrALinkToOneIsRefusedAtOnce) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("cmdai_fifo_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto fifo = dir / "model.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::create_symlink(fifo, dir / "link.gguf");
  for (const auto& path : {fifo, dir / "link.gguf"}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::alarm(5);
      auto file = MappedFile::open(path.string());
      ::_exit(!file.ok() && file.error().code == ErrorCode::kInvalidArgument ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status)) << path << ": the open hung (killed by the alarm)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << path << ": not refused as a non-regular file";
  }
  std::filesystem::remove_all(dir);
}

TEST(MappedFile, LargeFilesStartOnA2MiBBoundaryWithEveryByteInPlace) {
  const size_t size = kHugeMappingMinBytes + 12345;  // not a page multiple
  const auto path = write_pattern_file("cmdai_mapped_large.bin", size);
  auto file = MappedFile::open(path.string());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  ASSERT_EQ(file->size(), size);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file->data()) % (size_t{2} << 20), 0u);
  for (size_t i = 0; i < size; i += 4093) {
    ASSERT_EQ(file->data()[i], static_cast<uint8_t>((i * 2654435761u) >> 13)) << i;
  }
  EXPECT_EQ(file->data()[size - 1], static_cast<uint8_t>(((size - 1) * 2654435761u) >> 13));
  file->reset();
  // Mapping and unmapping many times must not leak address space or mappings.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(MappedFile::open(path.string()).ok());
  std::filesystem::remove(path);
}

// Pages of [p, p + size) that have a page-table entry, from /proc/self/pagemap (bit 63): asks
// the kernel without touching the memory (reading it would fault it in, and under ASan fault in
// shadow pages too).
size_t present_pages(const uint8_t* p, size_t size) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const int fd = ::open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) return 0;
  size_t present = 0;
  const uintptr_t first = reinterpret_cast<uintptr_t>(p) / page;
  const size_t n = (size + page - 1) / page;
  std::vector<uint64_t> entries(n);
  const ssize_t got = ::pread(fd, entries.data(), n * sizeof(uint64_t),
                              static_cast<off_t>(first * sizeof(uint64_t)));
  ::close(fd);
  for (ssize_t i = 0; i < got / static_cast<ssize_t>(sizeof(uint64_t)); ++i)
    present += entries[static_cast<size_t>(i)] >> 63;
  return present;
}

TEST(MappedFile, PopulatedInTheBackgroundHasEveryPageMappedAndSurvivesMovesAndResets) {
#ifndef MADV_POPULATE_READ
  GTEST_SKIP() << "no MADV_POPULATE_READ on this system";
#endif
  const size_t size = 6 * kHugeMappingMinBytes + 777;
  const size_t pages = (size + 4095) / 4096;
  const auto path = write_pattern_file("cmdai_populated.bin", size);
  {
    // Where the kernel's answer cannot be seen (qemu-user passes madvise advice over and has its
    // own pagemap), there is nothing to check: populate a plain mapping here first and look.
    auto probe = MappedFile::open(path.string());
    ASSERT_TRUE(probe.ok());
    const bool done = ::madvise(const_cast<uint8_t*>(probe->data()), 4096, MADV_POPULATE_READ) == 0;
    if (!done || present_pages(probe->data(), 4096) != 1) {
      std::filesystem::remove(path);
      GTEST_SKIP() << "MADV_POPULATE_READ or /proc/self/pagemap has no visible effect here";
    }
  }
  auto untouched = MappedFile::open(path.string());
  ASSERT_TRUE(untouched.ok()) << untouched.error().to_string();
  const size_t before = present_pages(untouched->data(), size);
  auto opened = MappedFile::open(path.string());
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  opened->populate_in_background();
  MappedFile file = std::move(opened).value();  // moved while the thread may still run
  file.wait_for_population();
  const size_t after = present_pages(file.data(), size);
  std::printf("pages mapped of %zu: %zu untouched, %zu populated\n", pages, before, after);
  EXPECT_LT(before, pages / 2);
  EXPECT_EQ(after, pages);
  for (size_t i = 0; i < size; i += 4096) {
    ASSERT_EQ(file.data()[i], static_cast<uint8_t>((i * 2654435761u) >> 13)) << i;
  }
  // Dropping a mapping while it is being populated waits for the thread, then unmaps.
  for (int i = 0; i < 20; ++i) {
    auto again = MappedFile::open(path.string());
    ASSERT_TRUE(again.ok());
    again->populate_in_background();
    again->reset();
    EXPECT_EQ(again->data(), nullptr);
  }
  std::filesystem::remove(path);
}

TEST(MappedFile, ReleasedWrittenPagesLeaveThePageCache) {
  const size_t size = kHugeMappingMinBytes * 2;
  const auto path = write_pattern_file("cmdai_released_pages.bin", size);
  const auto resident_pages = [&] {
    const int fd = ::open(path.c_str(), O_RDONLY);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> in_core((size + page - 1) / page);
    ::mincore(p, size, in_core.data());
    ::munmap(p, size);
    ::close(fd);
    size_t n = 0;
    for (unsigned char c : in_core) n += c & 1;
    return n;
  };
  const size_t before = resident_pages();
  const int fd = ::open(path.c_str(), O_RDWR);
  release_written_pages(fd, size);
  ::close(fd);
  const size_t after = resident_pages();
  std::printf("resident pages: %zu before, %zu after release\n", before, after);
  EXPECT_GT(before, 0u) << "just written: expected in the page cache";
  EXPECT_LT(after, before / 4);
  std::filesystem::remove(path);
}

TEST(MappedFile, MissingFileIsNotFoundNamingThePath) {
  auto file = MappedFile::open("/nonexistent/cmdai/model.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(file.error().message.find("/nonexistent/cmdai/model.gguf"), std::string::npos);
}

TEST(MappedFile, DirectoryIsRejected) {
  auto file = MappedFile::open("/tmp");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdai
