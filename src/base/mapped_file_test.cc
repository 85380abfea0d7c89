#include "base/mapped_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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
