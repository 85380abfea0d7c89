// libFuzzer target: the safety check on arbitrary command lines, at every level. It must always
// return a verdict whose decision follows the policy table for the rated risk (validator.h). Each
// input is read in one dialect, picked by its length, so the cost per input stays that of one.
// The slowest input's time (all three levels) is printed at exit.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "safety/validator.h"

namespace {

double slowest_ms = 0;

void report_slowest() { std::fprintf(stderr, "fuzz_safety: slowest input %.3f ms\n", slowest_ms); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cmdai::safety;
  static const bool registered = (std::atexit(report_slowest), true);
  (void)registered;
  const auto start = std::chrono::steady_clock::now();
  const std::string_view command(reinterpret_cast<const char*>(data), size);
  constexpr Dialect kDialects[] = {Dialect::kBash, Dialect::kZsh, Dialect::kFish, Dialect::kSh};
  const Dialect dialect = kDialects[size % 4];
  for (SafetyLevel level :
       {SafetyLevel::kStrict, SafetyLevel::kModerate, SafetyLevel::kPermissive}) {
    const SafetyVerdict verdict = check_command(command, level, dialect);
    if (verdict.blocked != is_blocked(verdict.risk, level) ||
        verdict.needs_confirmation != needs_confirmation(verdict.risk, level)) {
      std::fprintf(stderr, "verdict disagrees with the policy table\n");
      std::abort();
    }
    if (verdict.risk != RiskLevel::kSafe && verdict.rules.empty()) {
      std::fprintf(stderr, "a risk above safe names no rule\n");
      std::abort();
    }
  }
  slowest_ms = std::max(
      slowest_ms,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return 0;
}
