// Which kernel tables this CPU runs (printed, so a CI log shows what the other kernel tests
// covered), and that on every architecture the list follows the CPU's features.
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

// The tables cpu_features() allows, in the order available_kernel_sets() lists them (the best,
// which the engine picks, last): derived here from the features alone, per architecture.
std::vector<std::string> expected_kernel_sets(const CpuFeatures& f) {
  std::vector<std::string> names = {"scalar"};
#if defined(__x86_64__) || defined(_M_X64)
  if (f.avx2 && f.fma && f.f16c) names.push_back("avx2");
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx2 && f.fma && f.f16c) {
    // Listed (tested) where the CPU has AMX-int8 and the OS grants it, but never picked.
    if (f.amx_int8 && amx_kernels() != nullptr) names.push_back("amx");
    names.push_back("avx512vnni");
  }
#elif defined(__aarch64__)
  if (f.neon) names.push_back("neon");
  if (f.neon && f.neon_dotprod) names.push_back("neon_dotprod");
#endif
  return names;
}

std::vector<std::string> expected_attention_kernels(const CpuFeatures& f) {
  std::vector<std::string> names = {"scalar"};
#if defined(__x86_64__) || defined(_M_X64)
  if (f.avx2 && f.fma && f.f16c) names.push_back("avx2");
#elif defined(__aarch64__)
  if (f.neon) names.push_back("neon");
#endif
  return names;
}

template <typename Table>
std::vector<std::string> name_list(const std::vector<const Table*>& tables) {
  std::vector<std::string> names;
  for (const Table* t : tables) names.push_back(t->name);
  return names;
}

TEST(KernelSetList, FollowsTheCpuFeaturesAndThePickIsTheLast) {
  const CpuFeatures& f = cpu_features();
  const std::string sets = names_of(available_kernel_sets());
  const std::string attention = names_of(available_attention_kernels());
  std::printf("cpu features: %s\nkernel sets tested: %s\nattention kernels tested: %s\n",
              f.to_string().c_str(), sets.c_str(), attention.c_str());
  RecordProperty("kernel_sets", sets);
  EXPECT_EQ(name_list(available_kernel_sets()), expected_kernel_sets(f));
  EXPECT_EQ(name_list(available_attention_kernels()), expected_attention_kernels(f));
  // The engine runs the last (best) of each list; AMX, where listed, is never the pick.
  EXPECT_EQ(&best_kernels(), available_kernel_sets().back());
  EXPECT_EQ(&best_attention_kernels(), available_attention_kernels().back());
}

}  // namespace
}  // namespace cmdai::cpu
