// Throughput report for cpu::matmul on Qwen2.5-1.5B shapes. Disabled, so it never runs (or fails)
// in CI; run with --gtest_also_run_disabled_tests --gtest_filter='MatmulSpeed.*'.
// Env CMDAI_SPEED_THREADS sets the thread count (default 2).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "base/clock.h"
#include "device/cpu/kernels.h"
#include "device/cpu/matmul.h"
#include "quant/quantize.h"

namespace cmdai::cpu {
namespace {

int speed_threads() {
  const char* env = std::getenv("CMDAI_SPEED_THREADS");
  return env != nullptr ? std::atoi(env) : 2;
}

// Enough copies of a rows x cols matrix to overflow the last-level cache, so GEMV timings measure
// memory bandwidth the way a real model (1 GB of weights) sees it.
struct MatrixSet {
  std::vector<uint8_t> bytes;
  std::vector<WeightMatrix> copies;
  size_t matrix_bytes = 0;
};

MatrixSet make_set(TensorType type, int64_t rows, int64_t cols, size_t min_total_bytes) {
  MatrixSet s;
  const size_t rb = *row_bytes(type, cols);
  s.matrix_bytes = rb * static_cast<size_t>(rows);
  std::vector<uint8_t> one(s.matrix_bytes);
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.08f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    quantize_row(type, row.data(), one.data() + rb * r, cols);
  }
  const size_t n = std::max<size_t>(1, (min_total_bytes + s.matrix_bytes - 1) / s.matrix_bytes);
  s.bytes.resize(n * s.matrix_bytes);
  for (size_t i = 0; i < n; ++i) std::copy(one.begin(), one.end(), s.bytes.begin() + i * s.matrix_bytes);
  for (size_t i = 0; i < n; ++i) {
    s.copies.push_back(WeightMatrix{type, rows, cols, s.bytes.data() + i * s.matrix_bytes, rb});
  }
  return s;
}

// Best-of-several time in ms of one matmul with n_tokens, cycling through the copies.
double time_matmul(const MatrixSet& s, int64_t n_tokens, ThreadPool& pool, int reps) {
  const WeightMatrix& w0 = s.copies[0];
  std::vector<float> x(static_cast<size_t>(n_tokens * w0.cols), 0.5f), y(static_cast<size_t>(n_tokens * w0.rows));
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    const WeightMatrix& w = s.copies[static_cast<size_t>(rep) % s.copies.size()];
    const double t0 = now_ms();
    matmul(w, x.data(), n_tokens, y.data(), pool);
    best = std::min(best, now_ms() - t0);
  }
  return best;
}

TEST(MatmulSpeed, DISABLED_ReportQwen15BShapes) {
  ThreadPool pool(speed_threads());
  std::printf("kernels: %s, threads: %d\n", best_kernels().name, pool.size());
  struct Shape {
    TensorType type;
    int64_t rows, cols;
    const char* what;
  };
  const Shape shapes[] = {
      {TensorType::kQ4_K, 8960, 1536, "ffn_up/gate q4_K"}, {TensorType::kQ4_K, 1536, 8960, "ffn_down q4_K"},
      {TensorType::kQ6_K, 1536, 8960, "ffn_down q6_K"},   {TensorType::kQ8_0, 8960, 1536, "ffn_up q8_0"},
      {TensorType::kQ5_K, 8960, 1536, "ffn_up q5_K"},     {TensorType::kQ4_0, 8960, 1536, "ffn_up q4_0"},
      {TensorType::kF16, 1536, 1536, "attn f16"},
  };
  for (const Shape& sh : shapes) {
    const MatrixSet s = make_set(sh.type, sh.rows, sh.cols, size_t{96} << 20);
    const double gemv_ms = time_matmul(s, 1, pool, 3 * static_cast<int>(s.copies.size()));
    const double gemm_ms = time_matmul(s, 64, pool, 3);
    const double flops = 2.0 * static_cast<double>(sh.rows * sh.cols) * 64;
    std::printf("%-18s %5lldx%-5lld GEMV %7.3f ms %6.1f GB/s | GEMM 64 tok %8.2f ms %6.1f GFLOP/s\n",
                sh.what, static_cast<long long>(sh.rows), static_cast<long long>(sh.cols), gemv_ms,
                static_cast<double>(s.matrix_bytes) / gemv_ms / 1e6, gemm_ms, flops / gemm_ms / 1e6);
  }
}

}  // namespace
}  // namespace cmdai::cpu
