// The repacked-weights cache: built once, then reused as the same bytes a fresh repacking gives;
// a damaged, truncated or foreign file is rebuilt; a folder that cannot be written is an error.
#include "device/mlx/weight_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "device/mlx/test_spec.h"

namespace cmdai::mlx_device {
namespace {

namespace fs = std::filesystem;

class WeightCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_mlx_weights_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path only_file() const {
    fs::path found;
    for (const auto& entry : fs::directory_iterator(dir_)) found = entry.path();
    return found;
  }
  fs::path dir_;
};

TEST_F(WeightCacheTest, BuildsOnceThenReusesTheSameBytesAFreshRepackGives) {
  const TinySpec tiny(1);
  auto first = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE((*first)->was_built());
  auto second = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_FALSE((*second)->was_built());

  const auto matrices = spec_matrices(tiny.spec);
  ASSERT_EQ((*second)->matrices().size(), matrices.size());
  for (size_t i = 0; i < matrices.size(); ++i) {
    const device::WeightMatrix& m = *matrices[i];
    const MlxForm form = *mlx_form_of(m);
    const RepackedSizes sizes = repacked_sizes(m, form);
    std::vector<uint32_t> words(sizes.word_count);
    std::vector<float> scales(sizes.group_count), biases(sizes.group_count);
    repack_matrix(m, form, words.data(), scales.data(), biases.data(), nullptr);
    const CachedMatrix& c = (*second)->matrices()[i];
    EXPECT_EQ(c.form.bits, 8);
    EXPECT_EQ(std::memcmp(c.words, words.data(), words.size() * 4), 0) << "matrix " << i;
    EXPECT_EQ(std::memcmp(c.scales, scales.data(), scales.size() * 4), 0) << "matrix " << i;
    EXPECT_EQ(std::memcmp(c.biases, biases.data(), biases.size() * 4), 0) << "matrix " << i;
  }
}

TEST_F(WeightCacheTest, DamagedOrTruncatedFilesAreRebuiltNeverTrusted) {
  const TinySpec tiny(2);
  ASSERT_TRUE(WeightCache::open_or_build(dir_.string(), tiny.spec).ok());
  const fs::path file = only_file();
  const auto size = fs::file_size(file);
  {
    // Overwrite the start of the first array (the q matrix's words): sampled, so noticed.
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    const char junk[16] = "not the weights";
    f.write(junk, sizeof junk);
  }
  auto reopened = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  EXPECT_TRUE((*reopened)->was_built()) << "a damaged cache was trusted";
  fs::resize_file(file, size - 4096);
  auto again = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE((*again)->was_built()) << "a truncated cache was trusted";
  EXPECT_EQ(fs::file_size(file), size);
}

TEST_F(WeightCacheTest, AnotherModelGetsItsOwnFile) {
  const TinySpec a(3), b(4);
  ASSERT_TRUE(WeightCache::open_or_build(dir_.string(), a.spec).ok());
  auto other = WeightCache::open_or_build(dir_.string(), b.spec);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE((*other)->was_built());
  EXPECT_NE(spec_fingerprint(a.spec), spec_fingerprint(b.spec));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

TEST_F(WeightCacheTest, AFolderThatCannotBeWrittenIsAnIoError) {
  const TinySpec tiny(5);
  auto cache = WeightCache::open_or_build("/dev/null/cmdai", tiny.spec);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.error().code, ErrorCode::kIo);
  EXPECT_NE(cache.error().message.find("MLX weight cache"), std::string::npos)
      << cache.error().message;
}

}  // namespace
}  // namespace cmdai::mlx_device
