// The integer-format kernels again, with the ARMv8.2 dot-product extension: SDOT sums four int8
// products per int32 lane in one instruction. Only this file is built for +dotprod (the pragma
// below); kernels.cc offers its table only when the CPU reports HWCAP_ASIMDDP. The integer sums
// are exact either way, so the bits equal the baseline "neon" table's and the reference's.
#pragma GCC target("arch=armv8.2-a+dotprod")
#pragma GCC optimize("fp-contract=off")

#include "device/cpu/kernels_neon.h"
#include "device/cpu/simd_neon.h"

namespace cmdai::cpu {
namespace {

struct SdotDot {
  static inline int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t a) {
    return vdotq_s32(acc, w, a);
  }
};

}  // namespace
}  // namespace cmdai::cpu

CMDAI_DEFINE_NEON_Q8_0_FAMILY(neon_dotprod, SdotDot)
CMDAI_DEFINE_NEON_K_QUANTS(neon_dotprod, SdotDot)
