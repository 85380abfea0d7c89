#include "base/cpu_features.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace cmdai {
namespace {

#if defined(__x86_64__)
bool os_saves_ymm_zmm(bool want_zmm) {
  uint32_t eax = 0, edx = 0;
  asm volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  const bool ymm = (eax & 0x6) == 0x6;
  const bool zmm = (eax & 0xe6) == 0xe6;
  return want_zmm ? zmm : ymm;
}
#endif

bool mask_allows(std::string_view mask, std::string_view name) {
  if (mask.empty()) return true;
  if (mask == "scalar" || mask == "none") return false;
  size_t start = 0;
  while (start <= mask.size()) {
    size_t comma = mask.find(',', start);
    if (comma == std::string_view::npos) comma = mask.size();
    if (mask.substr(start, comma - start) == name) return true;
    start = comma + 1;
  }
  return false;
}

void apply_mask(CpuFeatures& f) {
  const char* env = std::getenv("CMDAI_CPU_FEATURES");
  if (env == nullptr) return;
  const std::string_view mask(env);
  f.avx2 = f.avx2 && mask_allows(mask, "avx2");
  f.fma = f.fma && mask_allows(mask, "fma");
  f.f16c = f.f16c && mask_allows(mask, "f16c");
  f.avx512f = f.avx512f && mask_allows(mask, "avx512f");
  f.avx512bw = f.avx512bw && mask_allows(mask, "avx512bw");
  f.avx512vl = f.avx512vl && mask_allows(mask, "avx512vl");
  f.avx512vnni = f.avx512vnni && mask_allows(mask, "avx512vnni");
  f.avxvnni = f.avxvnni && mask_allows(mask, "avxvnni");
  f.amx_int8 = f.amx_int8 && mask_allows(mask, "amx_int8");
  f.neon = f.neon && mask_allows(mask, "neon");
  f.neon_dotprod = f.neon_dotprod && mask_allows(mask, "neon_dotprod");
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    const bool osxsave = (c >> 27) & 1;
    const bool avx = ((c >> 28) & 1) && osxsave && os_saves_ymm_zmm(false);
    f.fma = avx && ((c >> 12) & 1);
    f.f16c = avx && ((c >> 29) & 1);
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      f.avx2 = avx && ((b >> 5) & 1);
      const bool zmm = osxsave && os_saves_ymm_zmm(true);
      f.avx512f = zmm && ((b >> 16) & 1);
      f.avx512bw = zmm && ((b >> 30) & 1);
      f.avx512vl = zmm && ((b >> 31) & 1);
      f.avx512vnni = zmm && ((c >> 11) & 1);
      f.amx_int8 = (d >> 25) & 1;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avxvnni = avx && ((a >> 4) & 1);
  }
#elif defined(__aarch64__)
  f.neon = true;  // Advanced SIMD is mandatory on arm64 Linux
#if defined(__linux__)
  // The kernel reports the dot-product extension (SDOT/UDOT) in HWCAP_ASIMDDP.
  f.neon_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
  f.neon_dotprod = true;
#endif
#endif
  apply_mask(f);
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

std::string CpuFeatures::to_string() const {
  std::string out;
  auto add = [&out](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avxvnni, "avxvnni");
  add(amx_int8, "amx_int8");
  add(neon, "neon");
  add(neon_dotprod, "neon_dotprod");
  return out.empty() ? "scalar" : out;
}

const std::string& cpu_model_name() {
  static const std::string name = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) != 0) continue;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      const size_t begin = line.find_first_not_of(" \t", colon + 1);
      if (begin != std::string::npos) return line.substr(begin);
    }
    return std::string("unknown cpu");
  }();
  return name;
}

const CpuFamilyModel& cpu_family_model() {
  static const CpuFamilyModel numbers = [] {
    CpuFamilyModel fm;
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    auto value_of = [&](std::string_view key) -> std::optional<int> {
      if (line.rfind(key, 0) != 0) return std::nullopt;
      const size_t colon = line.find(':');
      if (colon == std::string::npos || line.find_first_not_of(" \t", key.size()) != colon) {
        return std::nullopt;  // "model name" is not "model"
      }
      int v = -1;
      const char* begin = line.c_str() + colon + 1;
      while (*begin == ' ' || *begin == '\t') ++begin;
      const auto [ptr, ec] = std::from_chars(begin, line.c_str() + line.size(), v);
      if (ec != std::errc()) return std::nullopt;
      return v;
    };
    while (std::getline(in, line) && (fm.family < 0 || fm.model < 0)) {
      if (const auto f = value_of("cpu family")) fm.family = *f;
      if (const auto m = value_of("model")) fm.model = *m;
    }
    return fm;
  }();
  return numbers;
}

}  // namespace cmdai
