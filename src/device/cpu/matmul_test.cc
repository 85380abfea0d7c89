#include "device/cpu/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace cmdai::cpu {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// A rows x cols matrix of N(0, 0.08) weights stored as `type`.
struct TestMatrix {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

TestMatrix make_matrix(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestMatrix m;
  const size_t rb = *row_bytes(type, cols);
  m.bytes.resize(rb * static_cast<size_t>(rows));
  const auto values = gaussian(rows * cols, seed, 0.08f);
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(type, values.data() + r * cols, m.bytes.data() + rb * r, cols);
  }
  m.w = WeightMatrix{type, rows, cols, m.bytes.data(), rb};
  return m;
}

// y = W x in long double from the dequantized weights: the oracle for kExact.
std::vector<double> reference(const WeightMatrix& w, const std::vector<float>& x,
                              int64_t n_tokens) {
  std::vector<double> y(static_cast<size_t>(n_tokens * w.rows));
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w.type, w.data + r * w.row_bytes, row.data(), w.cols);
    for (int64_t t = 0; t < n_tokens; ++t) {
      long double s = 0;
      for (int64_t k = 0; k < w.cols; ++k)
        s += static_cast<long double>(row[k]) * x[t * w.cols + k];
      y[t * w.rows + r] = static_cast<double>(s);
    }
  }
  return y;
}

const TensorType kAllTypes[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16,
                                TensorType::kQ4_0, TensorType::kQ5_0, TensorType::kQ8_0,
                                TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K};

TEST(Matmul, ExactMatchesAnF64ReferenceForEveryType) {
  ThreadPool pool(2);
  for (TensorType type : kAllTypes) {
    const auto m = make_matrix(type, 37, 512, 7);
    const int64_t n_tokens = 3;
    const auto x = gaussian(n_tokens * 512, 8, 2.0f);
    std::vector<float> y(n_tokens * 37);
    matmul(m.w, x.data(), n_tokens, y.data(), pool, MatmulPrecision::kExact);
    const auto expected = reference(m.w, x, n_tokens);
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_NEAR(y[i], expected[i], 1e-6 * (1 + std::fabs(expected[i])))
          << type_name(type) << " " << i;
    }
  }
}

TEST(Matmul, FastStaysCloseToExactForEveryType) {
  ThreadPool pool(2);
  for (TensorType type : kAllTypes) {
    const int64_t rows = 64, cols = 1536, n_tokens = 5;
    const auto m = make_matrix(type, rows, cols, 3);
    const auto x = gaussian(n_tokens * cols, 4, 2.0f);
    std::vector<float> fast(n_tokens * rows), exact(n_tokens * rows);
    matmul(m.w, x.data(), n_tokens, fast.data(), pool, MatmulPrecision::kFast);
    matmul(m.w, x.data(), n_tokens, exact.data(), pool, MatmulPrecision::kExact);
    double rms = 0;
    for (float v : exact) rms += static_cast<double>(v) * v;
    rms = std::sqrt(rms / static_cast<double>(exact.size()));
    // Activation quantization (int8 per 32 or 256 values) costs about 1% of the output scale.
    const double tol = (type == TensorType::kF32 || type == TensorType::kF16) ? 1e-3 : 0.05;
    for (size_t i = 0; i < fast.size(); ++i) {
      ASSERT_NEAR(fast[i], exact[i], tol * rms) << type_name(type) << " " << i;
    }
  }
}

TEST(Matmul, ResultsDoNotDependOnThreadCountOrTokenCount) {
  for (TensorType type : {TensorType::kQ4_K, TensorType::kQ6_K, TensorType::kQ8_0, TensorType::kF16,
                          TensorType::kF32, TensorType::kQ4_0}) {
    const int64_t rows = 37, cols = 512;
    const auto m = make_matrix(type, rows, cols, 21);
    const auto x = gaussian(17 * cols, 22);
    // Token t computed alone with one thread is the baseline for every other configuration.
    ThreadPool one(1);
    std::vector<float> single(17 * rows);
    for (int64_t t = 0; t < 17; ++t) {
      matmul(m.w, x.data() + t * cols, 1, single.data() + t * rows, one);
    }
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      for (int64_t n_tokens : {1, 3, 17}) {
        std::vector<float> y(n_tokens * rows);
        matmul(m.w, x.data(), n_tokens, y.data(), pool);
        for (int64_t i = 0; i < n_tokens * rows; ++i) {
          ASSERT_EQ(y[i], single[i])
              << type_name(type) << " threads=" << threads << " tokens=" << n_tokens << " i=" << i;
        }
      }
    }
  }
}

TEST(Matmul, FillsNaNInsteadOfReadingABadMatrix) {
  ThreadPool pool(1);
  std::vector<uint8_t> bytes(4096);
  std::vector<float> x(300, 1.0f), y(6, 0.0f);
  const WeightMatrix partial_block{TensorType::kQ4_K, 3, 300, bytes.data(), 300};
  matmul(partial_block, x.data(), 2, y.data(), pool);
  for (float v : y) EXPECT_TRUE(std::isnan(v));
  const WeightMatrix short_rows{TensorType::kQ8_0, 3, 64, bytes.data(), 10};
  std::fill(y.begin(), y.end(), 0.0f);
  matmul(short_rows, x.data(), 2, y.data(), pool);
  for (float v : y) EXPECT_TRUE(std::isnan(v));
  const WeightMatrix unsupported{TensorType::kQ2_K, 3, 256, bytes.data(), 84};
  std::fill(y.begin(), y.end(), 0.0f);
  matmul(unsupported, x.data(), 2, y.data(), pool, MatmulPrecision::kExact);
  for (float v : y) EXPECT_TRUE(std::isnan(v));
}

TEST(Matmul, ZeroTokensOrRowsWriteNothing) {
  ThreadPool pool(2);
  for (TensorType type : {TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kF32}) {
    for (MatmulPrecision precision : {MatmulPrecision::kFast, MatmulPrecision::kExact}) {
      const auto m = make_matrix(type, 4, 256, 1);
      std::vector<float> x(3 * 256, 1.0f), y(12, 5.0f);
      // Zero tokens: nothing to write.
      matmul(m.w, x.data(), 0, y.data(), pool, precision);
      for (float v : y) ASSERT_EQ(v, 5.0f) << type_name(type) << " zero tokens";
      // Zero rows, three tokens: each token's output row is empty. The weights point at real
      // bytes so that a read past the 0 rows would at least not fault; the guard values in y
      // must stay.
      const WeightMatrix no_rows{type, 0, 256, m.bytes.data(), m.w.row_bytes};
      matmul(no_rows, x.data(), 3, y.data(), pool, precision);
      for (float v : y) ASSERT_EQ(v, 5.0f) << type_name(type) << " zero rows";
      std::vector<float> out(4, 5.0f);
      const MatmulOutput outputs[] = {{&no_rows, y.data()}, {&m.w, out.data()}};
      matmul_shared_input(outputs, x.data(), 1, pool, precision);
      for (float v : y) ASSERT_EQ(v, 5.0f) << type_name(type) << " zero rows, shared input";
      for (float v : out) EXPECT_NE(v, 5.0f) << type_name(type) << " the other matrix";
    }
  }
}

TEST(Matmul, SharedInputBatchGivesEachMatrixTheBitsOfItsOwnMatmul) {
  // q/k/v-like groups: same format, mixed k-quants (one shared Q8_K input), and formats whose
  // inputs differ (q8_0 next to q4_K), which must fall back without changing any result.
  const std::vector<std::vector<TensorType>> groups = {
      {TensorType::kQ4_K, TensorType::kQ4_K, TensorType::kQ6_K},
      {TensorType::kQ8_0, TensorType::kQ8_0},
      {TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kF16}};
  const int64_t cols = 512;
  for (const auto& types : groups) {
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      for (int64_t n_tokens : {1, 5}) {
        const auto x = gaussian(n_tokens * cols, 7);
        std::vector<TestMatrix> ms;
        for (size_t i = 0; i < types.size(); ++i) {
          ms.push_back(make_matrix(types[i], 37 + 16 * static_cast<int64_t>(i), cols, 20 + i));
        }
        std::vector<std::vector<float>> got(ms.size()), want(ms.size());
        std::vector<MatmulOutput> outputs;
        for (size_t i = 0; i < ms.size(); ++i) {
          got[i].assign(static_cast<size_t>(n_tokens * ms[i].w.rows), -1.0f);
          want[i].assign(got[i].size(), -2.0f);
          matmul(ms[i].w, x.data(), n_tokens, want[i].data(), pool);
          outputs.push_back({&ms[i].w, got[i].data()});
        }
        matmul_shared_input(outputs, x.data(), n_tokens, pool);
        for (size_t i = 0; i < ms.size(); ++i) {
          EXPECT_EQ(got[i], want[i])
              << type_name(types[i]) << " threads=" << threads << " tokens=" << n_tokens;
        }
      }
    }
  }
}

}  // namespace
}  // namespace cmdai::cpu
