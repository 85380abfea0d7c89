#include "safety/paths.h"

#include <gtest/gtest.h>

namespace cmdai::safety {
namespace {

TEST(NormalizePath, ResolvesDotsAndSlashesWithoutTheDisk) {
  EXPECT_EQ(normalize_path("/tmp/../"), "/");
  EXPECT_EQ(normalize_path("//usr///bin/"), "/usr/bin");
  EXPECT_EQ(normalize_path("/../../etc"), "/etc");
  EXPECT_EQ(normalize_path("./a/./b/.."), "a");
  EXPECT_EQ(normalize_path("../../x"), "../../x");
  EXPECT_EQ(normalize_path("a/.."), ".");
  EXPECT_EQ(normalize_path("~"), "/home/~");
  EXPECT_EQ(normalize_path("~/.."), "/home");
  EXPECT_EQ(normalize_path("~bob/x"), "/home/~/x");
}

struct TreeCase {
  const char* path;
  TreeClass expected;
};

class ClassifyTree : public testing::TestWithParam<TreeCase> {};

TEST_P(ClassifyTree, SaysWhatARecursiveOperationSweepsUp) {
  EXPECT_EQ(classify_tree(GetParam().path), GetParam().expected) << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(
    Paths, ClassifyTree,
    testing::Values(TreeCase{"/", TreeClass::kRoot}, TreeCase{"/*", TreeClass::kRoot},
                    TreeCase{"/.*", TreeClass::kRoot}, TreeCase{"/tmp/..", TreeClass::kRoot},
                    TreeCase{"/[a-z]*", TreeClass::kRoot}, TreeCase{"~", TreeClass::kHome},
                    TreeCase{"~/*", TreeClass::kHome}, TreeCase{"/home/alice", TreeClass::kHome},
                    TreeCase{"/root", TreeClass::kHome}, TreeCase{"/home", TreeClass::kSystemDir},
                    TreeCase{"/home/*", TreeClass::kSystemDir},
                    TreeCase{"/etc", TreeClass::kSystemDir},
                    TreeCase{"/usr/lib", TreeClass::kSystemDir},
                    TreeCase{"/boot/grub", TreeClass::kSystemDir},
                    TreeCase{"/usr/*", TreeClass::kSystemDir}, TreeCase{".", TreeClass::kCwdAll},
                    TreeCase{"*", TreeClass::kCwdAll}, TreeCase{"../..", TreeClass::kCwdAll},
                    TreeCase{"./*", TreeClass::kCwdAll}, TreeCase{"build", TreeClass::kOther},
                    TreeCase{"*.log", TreeClass::kOther}, TreeCase{"/tmp/foo", TreeClass::kOther},
                    TreeCase{"/home/alice/projects", TreeClass::kOther},
                    TreeCase{"/usr/local/go", TreeClass::kOther},
                    TreeCase{"/etc/nginx", TreeClass::kOther}, TreeCase{"", TreeClass::kOther}));

TEST(PathPredicates, RecogniseDevicesSinksAndSensitiveFiles) {
  EXPECT_TRUE(is_block_device("/dev/sda"));
  EXPECT_TRUE(is_block_device("/dev/nvme0n1p2"));
  EXPECT_TRUE(is_block_device("/dev/mapper/root"));
  EXPECT_FALSE(is_block_device("/dev/null"));
  EXPECT_FALSE(is_block_device("/tmp/sda"));
  EXPECT_TRUE(is_harmless_sink("/dev/null"));
  EXPECT_TRUE(is_harmless_sink("/dev/fd/2"));
  EXPECT_FALSE(is_harmless_sink("/dev/sda"));
  EXPECT_TRUE(is_credential_file("/etc/passwd"));
  EXPECT_TRUE(is_credential_file("/etc/sudoers.d/bob"));
  EXPECT_TRUE(is_credential_file("/tmp/../etc/shadow"));
  EXPECT_FALSE(is_credential_file("/etc/passwd.bak"));
  EXPECT_TRUE(is_boot_path("/boot/grub/grub.cfg"));
  EXPECT_TRUE(is_system_path("/usr/local/bin/tool"));
  EXPECT_FALSE(is_system_path("/usrx/a"));
  EXPECT_TRUE(is_history_file("~/.bash_history"));
  EXPECT_FALSE(is_history_file("~/.bashrc"));
  EXPECT_TRUE(is_kernel_control("/proc/sys/vm/swappiness"));
}

TEST(PathAliases, FollowProcRootAndCwdAndKnowDiskAliases) {
  EXPECT_EQ(normalize_path("/proc/1/root/etc"), "/etc");
  EXPECT_EQ(normalize_path("/proc/self/root"), "/");
  EXPECT_EQ(normalize_path("//proc//1//root//usr"), "/usr");
  EXPECT_EQ(normalize_path("/proc/self/cwd/x"), "x");
  EXPECT_EQ(classify_tree("/proc/1/root/"), TreeClass::kRoot);
  EXPECT_EQ(classify_tree("/proc/self/cwd"), TreeClass::kCwdAll);
  EXPECT_EQ(normalize_path("/proc/1/status"), "/proc/1/status");
  EXPECT_TRUE(is_block_device("/dev/block/8:0"));
  EXPECT_TRUE(is_block_device("/dev/disk/by-id/ata-X"));
  EXPECT_TRUE(is_block_device("/dev/disk/by-uuid/1234"));
  EXPECT_TRUE(is_harmless_sink("/proc/self/fd/1"));
}

}  // namespace
}  // namespace cmdai::safety
