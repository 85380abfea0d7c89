// Throughput report for cpu::matmul on Qwen2.5-1.5B shapes. Disabled, so it never runs (or fails)
// in CI; run with --gtest_also_run_disabled_tests --gtest_filter='MatmulSpeed.*'.
// Env CMDAI_SPEED_THREADS sets the thread count (default 2).
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
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
  for (size_t i = 0; i < n; ++i)
    std::copy(one.begin(), one.end(), s.bytes.begin() + i * s.matrix_bytes);
  for (size_t i = 0; i < n; ++i) {
    s.copies.push_back(WeightMatrix{type, rows, cols, s.bytes.data() + i * s.matrix_bytes, rb});
  }
  return s;
}

// CPU time of the calling thread: with one thread it ignores time the shared box gave to other
// processes, so single-thread numbers stay comparable between runs on a loaded machine.
double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// Best-of-several time in ms of one matmul with n_tokens, cycling through the copies.
double time_matmul(const MatrixSet& s, int64_t n_tokens, ThreadPool& pool, int reps) {
  const WeightMatrix& w0 = s.copies[0];
  std::vector<float> x(static_cast<size_t>(n_tokens * w0.cols), 0.5f),
      y(static_cast<size_t>(n_tokens * w0.rows));
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    const WeightMatrix& w = s.copies[static_cast<size_t>(rep) % s.copies.size()];
    const bool cpu_clock = pool.size() == 1;
    const double t0 = cpu_clock ? thread_cpu_ms() : now_ms();
    matmul(w, x.data(), n_tokens, y.data(), pool);
    best = std::min(best, (cpu_clock ? thread_cpu_ms() : now_ms()) - t0);
  }
  return best;
}

// Plain streaming read of `bytes` with AVX-free code: the bandwidth this box gives one reader right
// now (shared machines vary a lot), printed next to the GEMV numbers for scale.
double stream_read_gbps(size_t bytes) {
  std::vector<uint64_t> v(bytes / 8, 1);
  double best = 1e30;
  uint64_t sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_ms();
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= v.size(); i += 4)
      s0 += v[i], s1 += v[i + 1], s2 += v[i + 2], s3 += v[i + 3];
    best = std::min(best, now_ms() - t0);
    sink += s0 + s1 + s2 + s3;
  }
  if (sink == 42) std::printf(" ");
  return static_cast<double>(bytes) / best / 1e6;
}

struct Shape {
  TensorType type;
  int64_t rows, cols;
  const char* what;
};

// Copies of the shape's matrix past the last-level cache, or (CMDAI_SPEED_HOT=1) one copy, so the
// weights stay in cache (compute cost without DRAM).
MatrixSet make_shape_set(const Shape& sh) {
  const bool hot = std::getenv("CMDAI_SPEED_HOT") != nullptr;
  return make_set(sh.type, sh.rows, sh.cols, hot ? 0 : size_t{96} << 20);
}

void print_kernels(const ThreadPool& pool) {
  std::printf("kernels: %s, threads: %d (%s)\n", best_kernels().name, pool.size(),
              pool.size() == 1 ? "thread CPU time" : "wall time");
}

TEST(MatmulSpeed, DISABLED_ReportQwen15BShapes) {
  std::printf("stream read baseline (1 thread, wall): %.1f GB/s\n",
              stream_read_gbps(size_t{256} << 20));
  ThreadPool pool(speed_threads());
  print_kernels(pool);
  const Shape shapes[] = {
      {TensorType::kQ4_K, 8960, 1536, "ffn_up/gate q4_K"},
      {TensorType::kQ4_K, 1536, 8960, "ffn_down q4_K"},
      {TensorType::kQ6_K, 1536, 8960, "ffn_down q6_K"},
      {TensorType::kQ8_0, 8960, 1536, "ffn_up q8_0"},
      {TensorType::kQ5_K, 8960, 1536, "ffn_up q5_K"},
      {TensorType::kQ4_0, 8960, 1536, "ffn_up q4_0"},
      {TensorType::kF16, 1536, 1536, "attn f16"},
  };
  for (const Shape& sh : shapes) {
    const MatrixSet s = make_shape_set(sh);
    const double gemv_ms = time_matmul(s, 1, pool, 20 * static_cast<int>(s.copies.size()));
    const double gemm_ms = time_matmul(s, 64, pool, 8);
    const double flops = 2.0 * static_cast<double>(sh.rows * sh.cols) * 64;
    std::printf(
        "%-18s %5lldx%-5lld GEMV %7.3f ms %6.1f GB/s | GEMM 64 tok %8.2f ms %6.1f GFLOP/s\n",
        sh.what, static_cast<long long>(sh.rows), static_cast<long long>(sh.cols), gemv_ms,
        static_cast<double>(s.matrix_bytes) / gemv_ms / 1e6, gemm_ms, flops / gemm_ms / 1e6);
  }
}

// The batched decode of `cmdai serve`: a few tokens per step. Per-token cost should fall well
// below the one-token GEMV's, since the weights are read once for all of them.
TEST(MatmulSpeed, DISABLED_ReportSmallBatches) {
  ThreadPool pool(speed_threads());
  print_kernels(pool);
  const Shape shapes[] = {
      {TensorType::kQ4_K, 8960, 1536, "ffn_up/gate q4_K"},
      {TensorType::kQ4_K, 1536, 8960, "ffn_down q4_K"},
      {TensorType::kQ6_K, 1536, 8960, "ffn_down q6_K"},
      {TensorType::kQ8_0, 8960, 1536, "ffn_up q8_0"},
  };
  for (const Shape& sh : shapes) {
    const MatrixSet s = make_shape_set(sh);
    std::printf("%-18s", sh.what);
    for (const int64_t tokens : {1, 2, 4, 8, 16}) {
      const double ms = time_matmul(s, tokens, pool, 10 * static_cast<int>(s.copies.size()));
      std::printf(" | %2lld tok %6.3f ms (%5.3f/tok)", static_cast<long long>(tokens), ms,
                  ms / static_cast<double>(tokens));
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace cmdai::cpu
