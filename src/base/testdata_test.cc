#include "base/testdata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace cmdai {
namespace {

namespace fs = std::filesystem;

// A private test-data folder named by $CMDAI_TESTDATA for the length of one test.
class TestdataFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_testdata_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "four.bin") << "abcd";
    ::setenv("CMDAI_TESTDATA", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("CMDAI_TESTDATA");
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(TestdataFolder, FindsAFileLongEnough) {
  const TestdataFile file = find_testdata_file("", "four.bin", 4);
  EXPECT_EQ(file.status, TestdataFile::Status::kFound);
  EXPECT_EQ(file.path, dir_ / "four.bin");
}

TEST_F(TestdataFolder, AMissingOrShortFileInAPresentFolderIsMissingNotAbsent) {
  const TestdataFile missing = find_testdata_file("", "golden/none.json");
  EXPECT_EQ(missing.status, TestdataFile::Status::kMissing);
  EXPECT_NE(missing.message.find("'golden/none.json' is missing"), std::string::npos)
      << missing.message;
  const TestdataFile short_file = find_testdata_file("", "four.bin", 5);
  EXPECT_EQ(short_file.status, TestdataFile::Status::kMissing);
  EXPECT_NE(short_file.message.find("has 4 bytes, fewer than the 5"), std::string::npos)
      << short_file.message;
}

TEST_F(TestdataFolder, OnlyAnAbsentFolderMeansSkip) {
  ::setenv("CMDAI_TESTDATA", (dir_ / "nowhere").c_str(), 1);
  const TestdataFile file = find_testdata_file("", "four.bin");
  EXPECT_EQ(file.status, TestdataFile::Status::kNoFolder);
  EXPECT_NE(file.message.find("skipping"), std::string::npos);
}

}  // namespace
}  // namespace cmdai
