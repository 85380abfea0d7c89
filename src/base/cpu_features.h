// What the processor can do, detected once at run time so one binary picks its SIMD kernels.
#pragma once

#include <string>

namespace cmdai {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avxvnni = false;
  bool amx_int8 = false;
  bool neon = false;
  bool neon_dotprod = false;

  std::string to_string() const;  // e.g. "avx2 fma f16c"
};

// Detected once and cached. CMDAI_CPU_FEATURES=scalar (or a list such as "avx2,fma") masks
// features, so the test suite can force each kernel path on one machine.
const CpuFeatures& cpu_features();
CpuFeatures detect_cpu_features();

// The processor's marketing name (/proc/cpuinfo's "model name"), or "unknown cpu".
const std::string& cpu_model_name();

// /proc/cpuinfo's "cpu family" and "model" numbers (x86; -1 where absent), which tell processor
// generations apart when the name does not ("AMD EPYC" is Zen 3, 4 or 5).
struct CpuFamilyModel {
  int family = -1, model = -1;
};
const CpuFamilyModel& cpu_family_model();

}  // namespace cmdai
