// Which kernel tables this CPU runs (printed, so a CI log shows what the other kernel tests
// covered), and on arm64 that the NEON tables follow the CPU's features.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "device/cpu/kernels.h"
#include "device/cpu/ops_kernels.h"

namespace cmdai::cpu {
namespace {

template <typename Table>
std::string names_of(const std::vector<const Table*>& tables) {
  std::string names;
  for (const Table* t : tables) names += std::string(names.empty() ? "" : " ") + t->name;
  return names;
}

TEST(KernelSetList, PrintsTheTablesTheOtherKernelTestsCover) {
  const std::string sets = names_of(available_kernel_sets());
  const std::string attention = names_of(available_attention_kernels());
  std::printf("cpu features: %s\nkernel sets tested: %s\nattention kernels tested: %s\n",
              cpu_features().to_string().c_str(), sets.c_str(), attention.c_str());
  RecordProperty("kernel_sets", sets);
#if defined(__aarch64__)
  const CpuFeatures& f = cpu_features();
  const auto tables = available_kernel_sets();
  ASSERT_EQ(tables.size(), 1u + (f.neon ? 1u : 0u) + (f.neon && f.neon_dotprod ? 1u : 0u));
  if (f.neon) {
    EXPECT_STREQ(tables[1]->name, "neon");
  }
  if (f.neon && f.neon_dotprod) {
    EXPECT_STREQ(tables[2]->name, "neon_dotprod");
  }
  EXPECT_STREQ(available_attention_kernels().back()->name, f.neon ? "neon" : "scalar");
#endif
}

}  // namespace
}  // namespace cmdai::cpu
