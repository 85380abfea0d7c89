#include "device/cpu/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "quant/blocks.h"
#include "quant/quantize.h"
#include "quant/vec_dot.h"

namespace cmdai::cpu {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> quantized(TensorType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(*row_bytes(type, n));
  quantize_row(type, x.data(), q.data(), n);
  return q;
}

struct DotCase {
  TensorType weight;
  std::vector<int64_t> lengths;
};

const std::vector<DotCase>& dot_cases() {
  static const std::vector<DotCase> cases = {
      {TensorType::kQ4_K, {256, 512, 1536, 8960}}, {TensorType::kQ5_K, {256, 512, 1536, 8960}},
      {TensorType::kQ6_K, {256, 512, 1536, 8960}}, {TensorType::kQ8_0, {32, 96, 4064, 8960}},
      {TensorType::kQ4_0, {32, 96, 4064, 8960}},   {TensorType::kQ5_0, {32, 96, 4064, 8960}},
      {TensorType::kF16, {1, 7, 32, 100, 1536}},   {TensorType::kBF16, {1, 7, 32, 100, 1536}},
      {TensorType::kF32, {1, 7, 32, 100, 1536}},
  };
  return cases;
}

TEST(KernelSets, ScalarComesFirstAndEveryTableIsComplete) {
  const auto sets = available_kernel_sets();
  ASSERT_FALSE(sets.empty());
  EXPECT_STREQ(sets.front()->name, "scalar");
  for (const KernelSet* ks : sets) {
    for (const auto& c : dot_cases()) {
      EXPECT_NE(ks->vec_dot(c.weight), nullptr) << ks->name << " " << type_name(c.weight);
      const TensorType at = activation_type_for(c.weight);
      if (at != TensorType::kF32) {
        EXPECT_NE(ks->quantize(at), nullptr) << ks->name;
      }
    }
  }
  EXPECT_EQ(&best_kernels(), sets.back());
}

TEST(KernelSets, EveryDotProductMatchesTheReference) {
  for (const KernelSet* ks : available_kernel_sets()) {
    for (const auto& c : dot_cases()) {
      const TensorType at = activation_type_for(c.weight);
      for (int64_t n : c.lengths) {
        for (uint32_t seed = 1; seed <= 3; ++seed) {
          const auto wq = quantized(c.weight, gaussian(n, seed, 0.1f));
          const auto aq = quantized(at, gaussian(n, seed + 100, 2.0f));
          const float expected = vec_dot(c.weight, n, wq.data(), aq.data());
          const float got = ks->vec_dot(c.weight)(n, wq.data(), aq.data());
          // Scale of the terms: |w| ~ 0.1, |a| ~ 2, so the sum's rounding is ~1e-6 of 0.2*n.
          const double tol = 1e-4 * std::fabs(expected) + 2e-6 * 0.2 * static_cast<double>(n);
          EXPECT_NEAR(got, expected, tol)
              << ks->name << " " << type_name(c.weight) << " n=" << n << " seed=" << seed;
        }
      }
    }
  }
}

TEST(KernelSets, IntegerDotProductsReturnTheReferenceBits) {
  // The integer formats' kernels reduce each block to an exact integer sum and scale it like the
  // reference, so every path gives the same float, not just a close one.
  for (const KernelSet* ks : available_kernel_sets()) {
    for (TensorType wt : {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K,
                          TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ5_0}) {
      for (int64_t n : {256, 1536, 8960}) {
        const auto wq = quantized(wt, gaussian(n, 31, 0.1f));
        const auto aq = quantized(activation_type_for(wt), gaussian(n, 32, 2.0f));
        EXPECT_EQ(ks->vec_dot(wt)(n, wq.data(), aq.data()), vec_dot(wt, n, wq.data(), aq.data()))
            << ks->name << " " << type_name(wt) << " n=" << n;
      }
    }
  }
}

TEST(KernelSets, TileAndSingleTokenKernelsEqualTheTablesDotProduct) {
  // matmul mixes these kernels depending on token count and thread split, so they must agree
  // bit for bit with each other (and the table's vec_dot) for every output. Token counts cover
  // full tiles, partial ones and the narrower tail tiles (1, 2, 3, 6, 8, 12, 13, 16, and 21 =
  // 16 + 5 for tiles of up to 16 tokens, 8 + 8 + 5 for tiles of 8), so every count of live tokens
  // in a group of four is covered.
  for (const int64_t tokens : {1, 2, 3, 6, 8, 12, 13, 16, 21}) {
    for (const KernelSet* ks : available_kernel_sets()) {
      for (const auto& c : dot_cases()) {
        const GemmFn kernels[2] = {ks->gemm(c.weight), ks->gemv(c.weight)};
        const TensorType at = activation_type_for(c.weight);
        const int64_t n = c.lengths.back(), rows = 7;
        std::vector<std::vector<uint8_t>> w, a;
        for (int r = 0; r < rows; ++r) w.push_back(quantized(c.weight, gaussian(n, 50 + r, 0.1f)));
        for (int t = 0; t < tokens; ++t) a.push_back(quantized(at, gaussian(n, 80 + t, 2.0f)));
        std::vector<uint8_t> wm, am;
        for (auto& r : w) wm.insert(wm.end(), r.begin(), r.end());
        for (auto& t : a) am.insert(am.end(), t.begin(), t.end());
        for (GemmFn kernel : kernels) {
          if (kernel == nullptr) continue;
          std::vector<float> y(rows * tokens);
          kernel(n, wm.data(), w[0].size(), 0, rows, am.data(), a[0].size(), tokens, y.data(),
                 rows);
          for (int t = 0; t < tokens; ++t) {
            for (int r = 0; r < rows; ++r) {
              EXPECT_EQ(y[t * rows + r], ks->vec_dot(c.weight)(n, w[r].data(), a[t].data()))
                  << ks->name << " " << type_name(c.weight) << " r=" << r << " t=" << t << "/"
                  << tokens;
            }
          }
        }
      }
    }
  }
}

TEST(KernelSets, KernelsWriteExactlyTheirRowRange) {
  // The one-token kernels walk a range as four quarter streams plus a tail (row_streams.h), so a
  // range that starts mid-matrix and is not a multiple of four must still give every row's own
  // result, in its own slot, and leave the rows outside it alone.
  constexpr int64_t kRows = 41;
  for (const KernelSet* ks : available_kernel_sets()) {
    for (const auto& c : dot_cases()) {
      const TensorType at = activation_type_for(c.weight);
      const int64_t n = c.lengths.back();
      std::vector<std::vector<uint8_t>> w;
      for (int r = 0; r < kRows; ++r) w.push_back(quantized(c.weight, gaussian(n, 300 + r, 0.1f)));
      std::vector<uint8_t> wm;
      for (auto& r : w) wm.insert(wm.end(), r.begin(), r.end());
      const auto a = quantized(at, gaussian(n, 399, 2.0f));
      for (const GemmFn kernel : {ks->gemm(c.weight), ks->gemv(c.weight)}) {
        if (kernel == nullptr) continue;
        for (const auto& [r0, r1] :
             {std::pair<int64_t, int64_t>{3, 38}, {5, 22}, {0, 41}, {9, 11}}) {
          std::vector<float> y(kRows, std::numeric_limits<float>::quiet_NaN());
          kernel(n, wm.data(), w[0].size(), r0, r1, a.data(), a.size(), 1, y.data(), kRows);
          for (int64_t r = 0; r < kRows; ++r) {
            if (r < r0 || r >= r1) {
              EXPECT_TRUE(std::isnan(y[r])) << ks->name << " " << type_name(c.weight) << " r=" << r;
            } else {
              EXPECT_EQ(y[r], ks->vec_dot(c.weight)(n, w[r].data(), a.data()))
                  << ks->name << " " << type_name(c.weight) << " r=" << r << " of [" << r0 << ", "
                  << r1 << ")";
            }
          }
        }
      }
    }
  }
}

TEST(KernelSets, ExactDotAccumulatesInDoubleOnEveryPath) {
  for (const KernelSet* ks : available_kernel_sets()) {
    for (int64_t n : {1, 15, 16, 17, 256, 8960}) {
      const auto w = gaussian(n, 61), x = gaussian(n, 62, 100.0f);
      long double expected = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        expected += static_cast<long double>(w[i]) * x[i];
        magnitude += std::fabs(static_cast<long double>(w[i]) * x[i]);
      }
      EXPECT_NEAR(ks->exact_dot(w.data(), x.data(), n), static_cast<double>(expected),
                  1e-14 * static_cast<double>(magnitude))
          << ks->name << " n=" << n;
    }
  }
}

TEST(KernelSets, KQuantTilesStayExactAtTheLargestQuantsAndActivations) {
  // The AVX2 q4_K/q5_K tile adds four vpmaddubsw results as int16 before scaling them: every
  // quant and scale at its maximum against activations of -128 or 127 everywhere is its worst
  // case, and it must still equal the reference's wide integer sums.
  constexpr int64_t n = 512, rows = 5;
  for (const TensorType type : {TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K}) {
    std::vector<uint8_t> w(*row_bytes(type, n) * rows, 0xFF);
    for (size_t off = 0; off < w.size(); off += *row_bytes(type, kQKK)) {
      const uint16_t one = 0x3C00;  // fp16 1.0: finite scales, so equality is meaningful
      if (type == TensorType::kQ6_K) {
        auto* b = reinterpret_cast<BlockQ6_K*>(w.data() + off);
        std::memset(b->scales, 127, sizeof b->scales);
        b->d = one;
      } else {
        std::memcpy(w.data() + off, &one, 2);
        std::memcpy(w.data() + off + 2, &one, 2);
      }
    }
    for (const int64_t tokens : {3, 11, 16, 21}) {
      std::vector<BlockQ8_K> a(static_cast<size_t>(tokens * (n / kQKK)));
      for (size_t i = 0; i < a.size(); ++i) {
        const int8_t q = i % 3 == 0 ? -128 : i % 3 == 1 ? 127 : static_cast<int8_t>(i * 37);
        a[i].d = 1.0f;
        std::fill(std::begin(a[i].qs), std::end(a[i].qs), q);
        for (int g = 0; g < kQKK / 16; ++g) a[i].bsums[g] = static_cast<int16_t>(16 * q);
      }
      const auto* am = reinterpret_cast<const uint8_t*>(a.data());
      const size_t a_stride = sizeof(BlockQ8_K) * (n / kQKK), w_stride = *row_bytes(type, n);
      for (const KernelSet* ks : available_kernel_sets()) {
        if (ks->gemm(type) == nullptr) continue;
        std::vector<float> y(static_cast<size_t>(rows * tokens));
        ks->gemm(type)(n, w.data(), w_stride, 0, rows, am, a_stride, tokens, y.data(), rows);
        for (int64_t t = 0; t < tokens; ++t) {
          for (int64_t r = 0; r < rows; ++r) {
            EXPECT_EQ(y[t * rows + r], vec_dot(type, n, w.data() + r * w_stride, am + t * a_stride))
                << ks->name << " " << type_name(type) << " r=" << r << " t=" << t << "/" << tokens;
          }
        }
      }
    }
  }
}

TEST(KernelSets, ArbitraryWeightBytesNeverCrashAndKQuantsStayExact) {
  // Weight blocks straight from a (possibly corrupt) file: any byte pattern, NaN/Inf scales
  // included. Activations always come from our quantizer.
  std::mt19937 rng(77);
  for (const KernelSet* ks : available_kernel_sets()) {
    for (const auto& c : dot_cases()) {
      const int64_t n = c.lengths.back();
      std::vector<uint8_t> w(*row_bytes(c.weight, n));
      for (auto& b : w) b = static_cast<uint8_t>(rng());
      const auto aq = quantized(activation_type_for(c.weight), gaussian(n, 5, 2.0f));
      const float got = ks->vec_dot(c.weight)(n, w.data(), aq.data());
      const float expected = vec_dot(c.weight, n, w.data(), aq.data());
      const bool k_quant = c.weight == TensorType::kQ4_K || c.weight == TensorType::kQ5_K ||
                           c.weight == TensorType::kQ6_K;
      if (k_quant) {
        EXPECT_TRUE((std::isnan(got) && std::isnan(expected)) || got == expected)
            << ks->name << " " << type_name(c.weight) << ": " << got << " vs " << expected;
      }
    }
  }
}

TEST(KernelSets, ActivationQuantizersAreBitIdenticalToTheReference) {
  for (const KernelSet* ks : available_kernel_sets()) {
    for (TensorType at :
         {TensorType::kQ8_0, TensorType::kQ8_K, TensorType::kF16, TensorType::kBF16}) {
      for (int64_t n : {256, 512, 1536, 8960}) {
        auto x = gaussian(n, static_cast<uint32_t>(n), 3.0f);
        x[5] = 0.0f;
        std::fill(x.begin() + 256 < x.end() ? x.end() - 256 : x.end(), x.end(),
                  0.0f);                // a zero block
        if (n >= 512) x[300] = -40.0f;  // a negative block maximum
        std::vector<uint8_t> expected(*row_bytes(at, n)), got(*row_bytes(at, n), 0xCD);
        quantize_row(at, x.data(), expected.data(), n);
        ks->quantize(at)(x.data(), got.data(), n);
        EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size()), 0)
            << ks->name << " " << type_name(at) << " n=" << n;
      }
    }
  }
}

TEST(KernelSets, Q8_0QuantizerRoundsTiesToEvenOnEveryPath) {
  float x[32] = {};
  x[0] = 127.0f, x[1] = 2.5f, x[2] = -3.5f, x[3] = 0.5f;
  for (const KernelSet* ks : available_kernel_sets()) {
    uint8_t block[34];
    ks->quantize(TensorType::kQ8_0)(x, block, 32);
    const auto* qs = reinterpret_cast<const int8_t*>(block + 2);
    EXPECT_EQ(qs[1], 2) << ks->name;
    EXPECT_EQ(qs[2], -4) << ks->name;
    EXPECT_EQ(qs[3], 0) << ks->name;
  }
}

// kernel_origin names the table a kernel comes from: that table holds the very function matmul
// calls, and no table it was built from does (so "avx2 gemv" in the AVX-512 table is AVX2's own
// GEMV, and the amx table's copies of AVX-512 kernels read "avx512vnni").
TEST(KernelSets, KernelOriginNamesTheFirstTableHoldingTheKernel) {
  // Derivation order: scalar, then avx2 or neon, then avx512vnni or neon_dotprod, then amx.
  EXPECT_EQ(kernel_set_lineage(scalar_kernels()), 0);
  auto tables = available_kernel_sets();
  for (const KernelSet* t : tables) {
    const std::string_view name = t->name;
    EXPECT_EQ(kernel_set_lineage(*t), name == "scalar"                   ? 0
                                      : name == "avx2" || name == "neon" ? 1
                                      : name == "amx"                    ? 3
                                                                         : 2)
        << name;
  }
  std::stable_sort(tables.begin(), tables.end(), [](const KernelSet* a, const KernelSet* b) {
    return kernel_set_lineage(*a) < kernel_set_lineage(*b);
  });
  const TensorType types[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16,
                              TensorType::kQ4_0, TensorType::kQ5_0, TensorType::kQ8_0,
                              TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};
  for (const KernelSet* ks : tables) {
    for (const TensorType type : types) {
      for (const bool one_token : {true, false}) {
        const std::string origin = kernel_origin(*ks, type, one_token);
        SCOPED_TRACE(::testing::Message() << ks->name << " " << type_name(type)
                                          << (one_token ? " one token: " : " many: ") << origin);
        const size_t space = origin.find(' ');
        ASSERT_NE(space, std::string::npos);
        const std::string_view table = std::string_view(origin).substr(0, space);
        const std::string_view shape = std::string_view(origin).substr(space + 1);
        const GemmFn gemv = one_token ? ks->gemv(type) : nullptr;
        const GemmFn gemm = ks->gemm(type);
        EXPECT_EQ(shape, gemv != nullptr ? "gemv" : gemm != nullptr ? "tiles" : "dot");
        bool found = false;
        for (const KernelSet* t : tables) {
          const bool same = gemv != nullptr   ? t->gemv(type) == gemv
                            : gemm != nullptr ? t->gemm(type) == gemm
                                              : t->vec_dot(type) == ks->vec_dot(type);
          if (same) {
            EXPECT_EQ(table, t->name);
            found = true;
            break;
          }
        }
        EXPECT_TRUE(found);
      }
    }
  }
  EXPECT_EQ(kernel_origin(scalar_kernels(), TensorType::kQ4_K, true), "scalar dot");
  EXPECT_EQ(kernel_origin(scalar_kernels(), TensorType::kQ8_K, true), "");  // no weight kernel
}

}  // namespace
}  // namespace cmdai::cpu
