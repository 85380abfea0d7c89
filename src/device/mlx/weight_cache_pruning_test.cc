// The weight cache folder stays bounded: other formats, dead writers' temporary files and the least
// recently used copies go when a new copy is written; the new one, recent ones and foreign files
// stay. Also through WeightCache: building a model's cache prunes, reusing one marks it used.
#include "device/mlx/weight_cache_pruning.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "device/mlx/test_spec.h"
#include "device/mlx/weight_cache.h"

namespace cmdai::mlx_device {
namespace {

namespace fs = std::filesystem;

class WeightCachePruning : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cmdai_mlx_prune_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A file `name` last used `hours_ago`.
  fs::path file(const std::string& name, int hours_ago) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << name;
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::hours(hours_ago));
    return path;
  }
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) out.insert(entry.path().filename());
    return out;
  }
  fs::path dir_;
};

TEST_F(WeightCachePruning, KeepsTheNewestCopiesAndForeignFilesRemovesTheRest) {
  const fs::path written = file("000000000000000a.v2.mlxw", 0);
  file("000000000000000b.v2.mlxw", 1);                // recently used: kept
  file("000000000000000c.v2.mlxw", 5);                // second most recent: kept (3 in all)
  file("000000000000000d.v2.mlxw", 50);               // least recently used: removed
  file("000000000000000e.v1.mlxw", 0);                // another format: removed however recent
  file("000000000000000f.v2.mlxw.tmp.999999999", 0);  // a writer that cannot exist: removed
  file("0000000000000001.v2.mlxw.tmp." + std::to_string(::getpid()), 0);  // a live writer: kept
  file("notes.txt", 100);                                                 // not the cache's: kept
  file("0123.v2.mlxw", 100);                                              // not a cache name: kept

  const auto removed = prune_weight_caches(dir_.string(), written.string(), 2);
  EXPECT_EQ(removed.size(), 3u);
  EXPECT_EQ(names(),
            (std::set<std::string>{"000000000000000a.v2.mlxw", "000000000000000b.v2.mlxw",
                                   "000000000000000c.v2.mlxw",
                                   "0000000000000001.v2.mlxw.tmp." + std::to_string(::getpid()),
                                   "notes.txt", "0123.v2.mlxw"}));
}

TEST_F(WeightCachePruning, TheJustWrittenFileStaysEvenWhenItIsTheOldest) {
  const fs::path written = file("000000000000000a.v2.mlxw", 100);
  file("000000000000000b.v2.mlxw", 1);
  file("000000000000000c.v2.mlxw", 2);
  file("000000000000000d.v2.mlxw", 3);
  prune_weight_caches(dir_.string(), written.string(), 2, 2);
  EXPECT_EQ(names(),
            (std::set<std::string>{"000000000000000a.v2.mlxw", "000000000000000b.v2.mlxw"}));
}

TEST_F(WeightCachePruning, AMissingFolderRemovesNothing) {
  EXPECT_TRUE(prune_weight_caches((dir_ / "absent").string(), "x", 2).empty());
}

TEST_F(WeightCachePruning, BuildingAModelsCacheEvictsTheLeastRecentlyUsedCopy) {
  // kWeightCachesKept - 1 recent copies of other models and one old one, then a new model's cache.
  for (size_t i = 0; i + 1 < kWeightCachesKept; ++i) {
    file(fmt::format("{:016x}.v{}.mlxw", 0x100 + i, kWeightCacheVersion), 1);
  }
  const std::string oldest = fmt::format("{:016x}.v{}.mlxw", 0x200, kWeightCacheVersion);
  file(oldest, 1000);
  const TinySpec tiny(1);
  auto cache = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(cache.ok()) << cache.error().to_string();
  EXPECT_TRUE((*cache)->was_built());
  const std::set<std::string> left = names();
  EXPECT_EQ(left.size(), kWeightCachesKept);
  EXPECT_FALSE(left.contains(oldest));

  // Reusing it marks it used: made old by hand, it is the newest again after the next open.
  const fs::path built =
      dir_ / fmt::format("{:016x}.v{}.mlxw", spec_fingerprint(tiny.spec), kWeightCacheVersion);
  ASSERT_TRUE(fs::exists(built));
  fs::last_write_time(built, fs::file_time_type::clock::now() - std::chrono::hours(2000));
  auto again = WeightCache::open_or_build(dir_.string(), tiny.spec);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->was_built());
  EXPECT_GT(fs::last_write_time(built), fs::file_time_type::clock::now() - std::chrono::hours(1));
}

}  // namespace
}  // namespace cmdai::mlx_device
