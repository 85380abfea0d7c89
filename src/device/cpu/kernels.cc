#include "device/cpu/kernels.h"

#include <algorithm>
#include <string_view>

#include "base/cpu_features.h"
#include "quant/quantize.h"
#include "quant/vec_dot.h"

namespace cmdai::cpu {
namespace {

template <TensorType kType>
float reference_dot(int64_t n, const void* w, const void* a) {
  return vec_dot(kType, n, w, a);
}

template <TensorType kType>
void reference_quantize(const float* x, void* dst, int64_t n) {
  quantize_row(kType, x, dst, n);
}

// Four independent partial sums keep the FPU busy; products of floats are exact in double.
double scalar_exact_dot(const float* w, const float* x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += static_cast<double>(w[k]) * x[k];
    s1 += static_cast<double>(w[k + 1]) * x[k + 1];
    s2 += static_cast<double>(w[k + 2]) * x[k + 2];
    s3 += static_cast<double>(w[k + 3]) * x[k + 3];
  }
  for (; k < n; ++k) s0 += static_cast<double>(w[k]) * x[k];
  return (s0 + s1) + (s2 + s3);
}

KernelSet make_scalar_kernels() {
  KernelSet ks;
  ks.name = "scalar";
  ks.dot_f32 = reference_dot<TensorType::kF32>;
  ks.dot_f16 = reference_dot<TensorType::kF16>;
  ks.dot_bf16 = reference_dot<TensorType::kBF16>;
  ks.dot_q4_0 = reference_dot<TensorType::kQ4_0>;
  ks.dot_q5_0 = reference_dot<TensorType::kQ5_0>;
  ks.dot_q8_0 = reference_dot<TensorType::kQ8_0>;
  ks.dot_q4_k = reference_dot<TensorType::kQ4_K>;
  ks.dot_q5_k = reference_dot<TensorType::kQ5_K>;
  ks.dot_q6_k = reference_dot<TensorType::kQ6_K>;
  ks.quantize_q8_0 = reference_quantize<TensorType::kQ8_0>;
  ks.quantize_q8_k = reference_quantize<TensorType::kQ8_K>;
  ks.quantize_f16 = reference_quantize<TensorType::kF16>;
  ks.quantize_bf16 = reference_quantize<TensorType::kBF16>;
  ks.exact_dot = scalar_exact_dot;
  return ks;
}

}  // namespace

VecDotFn KernelSet::vec_dot(TensorType weight_type) const {
  switch (weight_type) {
    case TensorType::kF32:
      return dot_f32;
    case TensorType::kF16:
      return dot_f16;
    case TensorType::kBF16:
      return dot_bf16;
    case TensorType::kQ4_0:
      return dot_q4_0;
    case TensorType::kQ5_0:
      return dot_q5_0;
    case TensorType::kQ8_0:
      return dot_q8_0;
    case TensorType::kQ4_K:
      return dot_q4_k;
    case TensorType::kQ5_K:
      return dot_q5_k;
    case TensorType::kQ6_K:
      return dot_q6_k;
    default:
      return nullptr;
  }
}

QuantizeFn KernelSet::quantize(TensorType activation_type) const {
  switch (activation_type) {
    case TensorType::kQ8_0:
      return quantize_q8_0;
    case TensorType::kQ8_K:
      return quantize_q8_k;
    case TensorType::kF16:
      return quantize_f16;
    case TensorType::kBF16:
      return quantize_bf16;
    default:
      return nullptr;
  }
}

GemmFn KernelSet::gemm(TensorType weight_type) const {
  switch (weight_type) {
    case TensorType::kF32:
      return gemm_f32;
    case TensorType::kF16:
      return gemm_f16;
    case TensorType::kBF16:
      return gemm_bf16;
    case TensorType::kQ4_0:
      return gemm_q4_0;
    case TensorType::kQ5_0:
      return gemm_q5_0;
    case TensorType::kQ8_0:
      return gemm_q8_0;
    case TensorType::kQ4_K:
      return gemm_q4_k;
    case TensorType::kQ5_K:
      return gemm_q5_k;
    case TensorType::kQ6_K:
      return gemm_q6_k;
    default:
      return nullptr;
  }
}

GemmFn KernelSet::gemv(TensorType weight_type) const {
  switch (weight_type) {
    case TensorType::kQ4_K:
      return gemv_q4_k;
    case TensorType::kQ5_K:
      return gemv_q5_k;
    case TensorType::kQ6_K:
      return gemv_q6_k;
    case TensorType::kQ8_0:
      return gemv_q8_0;
    case TensorType::kQ4_0:
      return gemv_q4_0;
    case TensorType::kQ5_0:
      return gemv_q5_0;
    default:
      return nullptr;
  }
}

const KernelSet& scalar_kernels() {
  static const KernelSet ks = make_scalar_kernels();
  return ks;
}

std::vector<const KernelSet*> available_kernel_sets() {
  std::vector<const KernelSet*> sets = {&scalar_kernels()};
#if defined(__x86_64__) || defined(_M_X64)
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma && f.f16c) sets.push_back(&avx2_kernels());
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx2 && f.fma && f.f16c) {
    // AMX tiles: tested like every table, but not picked (slower than avx512vnni end to end,
    // docs/PERFORMANCE.md), so listed before it.
    if (f.amx_int8) {
      if (const KernelSet* amx = amx_kernels()) sets.push_back(amx);
    }
    sets.push_back(&avx512_kernels());
  }
#endif
#if defined(__aarch64__)
  const CpuFeatures& f = cpu_features();
  if (f.neon) sets.push_back(&neon_kernels());
  if (f.neon && f.neon_dotprod) sets.push_back(&neon_dotprod_kernels());
#endif
  return sets;
}

const KernelSet& best_kernels() {
  static const KernelSet* best = available_kernel_sets().back();
  return *best;
}

void gemm_by_vec_dot(VecDotFn dot, int64_t n, const uint8_t* w, size_t w_stride, int64_t r0,
                     int64_t r1, const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y,
                     int64_t y_stride) {
  // A few rows at a time against every token keeps those weight rows in cache while each token
  // passes over them, instead of streaming the whole weight range once per token.
  constexpr int64_t kRowBlock = 8;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t re = rb + kRowBlock < r1 ? rb + kRowBlock : r1;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const uint8_t* at = a + static_cast<size_t>(t) * a_stride;
      for (int64_t r = rb; r < re; ++r) {
        y[t * y_stride + r] = dot(n, w + static_cast<size_t>(r) * w_stride, at);
      }
    }
  }
}

namespace {

// "table shape", built by appending (GCC 12 warns, wrongly, about operator+ on these).
std::string named(const char* table, const char* shape) {
  std::string out = table;
  out += ' ';
  out += shape;
  return out;
}

}  // namespace

int kernel_set_lineage(const KernelSet& ks) {
  const std::string_view name = ks.name;
  return name == "scalar" ? 0 : name == "avx2" || name == "neon" ? 1 : name == "amx" ? 3 : 2;
}

std::string kernel_origin(const KernelSet& ks, TensorType weight_type, bool one_token) {
  const GemmFn gemv = one_token ? ks.gemv(weight_type) : nullptr;
  const GemmFn gemm = ks.gemm(weight_type);
  const VecDotFn dot = ks.vec_dot(weight_type);
  const char* shape = gemv != nullptr ? "gemv" : gemm != nullptr ? "tiles" : "dot";
  // Tables in the order each was built from the one before (available_kernel_sets() lists amx
  // before avx512vnni, which it copies, because amx is never the best): the first to hold the
  // function introduced it.
  std::vector<const KernelSet*> tables = available_kernel_sets();
  std::stable_sort(tables.begin(), tables.end(), [](const KernelSet* a, const KernelSet* b) {
    return kernel_set_lineage(*a) < kernel_set_lineage(*b);
  });
  for (const KernelSet* table : tables) {
    const bool same = gemv != nullptr   ? table->gemv(weight_type) == gemv
                      : gemm != nullptr ? table->gemm(weight_type) == gemm
                                        : dot != nullptr && table->vec_dot(weight_type) == dot;
    if (same) return named(table->name, shape);
  }
  return dot != nullptr || gemm != nullptr ? named(ks.name, shape) : std::string();
}

}  // namespace cmdai::cpu
