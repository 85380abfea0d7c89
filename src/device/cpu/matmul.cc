#include "device/cpu/matmul.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <vector>

#include "device/cpu/kernels.h"
#include "quant/dequantize.h"
#include "quant/vec_dot.h"

namespace cmdai::cpu {
namespace {

bool valid(const WeightMatrix& w) {
  if (w.rows < 0 || w.cols <= 0 || w.data == nullptr || !has_vec_dot(w.type)) return false;
  const auto bytes = row_bytes(w.type, w.cols);
  return bytes.has_value() && *bytes <= w.row_bytes;
}

// Activation rows in the weight's partner format. Reused across calls on the same thread, so the
// steady state of decode and prefill allocates nothing.
std::vector<uint8_t>& activation_scratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

// Rows are handed out in multiples of this: tile kernels work on groups of rows.
constexpr int64_t kRowGrain = 4;

// Runs fn over [0, rows) in chunks that threads claim as they go, not one fixed share each: a
// thread that starts late (the OS gave its core to another process) then costs only its own
// chunk, not half the matmul. Every row's result is independent of who computes it, so results
// stay bit-identical for any thread count.
void for_row_chunks(ThreadPool& pool, int64_t rows, const std::function<void(int64_t, int64_t)>& fn) {
  const int threads = pool.size();
  if (threads <= 1 || rows <= kRowGrain) {
    fn(0, rows);
    return;
  }
  constexpr int kChunksPerThread = 8;
  int64_t chunk = std::max<int64_t>(kRowGrain, rows / (threads * kChunksPerThread));
  chunk = (chunk + kRowGrain - 1) / kRowGrain * kRowGrain;
  std::atomic<int64_t> next{0};
  pool.run([&](int) {
    for (;;) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= rows) return;
      fn(begin, std::min(rows, begin + chunk));
    }
  });
}

void matmul_fast(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool& pool) {
  const KernelSet& ks = best_kernels();
  const TensorType at = activation_type_for(w.type);
  const VecDotFn dot = ks.vec_dot(w.type);
  const GemmFn gemm = n_tokens == 1 && ks.gemv(w.type) != nullptr ? ks.gemv(w.type) : ks.gemm(w.type);
  const QuantizeFn quantize = ks.quantize(at);

  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  size_t act_stride = static_cast<size_t>(w.cols) * sizeof(float);
  if (quantize != nullptr) {
    act_stride = *row_bytes(at, w.cols);
    std::vector<uint8_t>& scratch = activation_scratch();
    if (scratch.size() < act_stride * static_cast<size_t>(n_tokens)) {
      scratch.resize(act_stride * static_cast<size_t>(n_tokens));
    }
    uint8_t* dst = scratch.data();
    const int64_t cols = w.cols;
    auto quantize_range = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) quantize(x + t * cols, dst + t * act_stride, cols);
    };
    if (n_tokens == 1) {
      quantize_range(0, 1);
    } else {
      pool.parallel_for(n_tokens, quantize_range);
    }
    act = dst;
  }

  for_row_chunks(pool, w.rows, [&](int64_t r0, int64_t r1) {
    if (gemm != nullptr) {
      gemm(w.cols, w.data, w.row_bytes, r0, r1, act, act_stride, n_tokens, y, w.rows);
    } else {
      gemm_by_vec_dot(dot, w.cols, w.data, w.row_bytes, r0, r1, act, act_stride, n_tokens, y, w.rows);
    }
  });
}

void matmul_exact(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                  ThreadPool& pool) {
  const ExactDotFn dot = best_kernels().exact_dot;
  pool.parallel_for(w.rows, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(w.cols));  // each row decoded once, used by all tokens
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w.type, w.data + static_cast<size_t>(r) * w.row_bytes, row.data(), w.cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[t * w.rows + r] = static_cast<float>(dot(row.data(), x + t * w.cols, w.cols));
      }
    }
  });
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool,
            MatmulPrecision precision) {
  if (n_tokens <= 0 || w.rows <= 0 || y == nullptr) return;
  if (!valid(w) || x == nullptr) {
    // No error channel in this signature: make the misuse impossible to miss downstream.
    std::fill(y, y + n_tokens * w.rows, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  if (precision == MatmulPrecision::kExact) {
    matmul_exact(w, x, n_tokens, y, pool);
  } else {
    matmul_fast(w, x, n_tokens, y, pool);
  }
}

}  // namespace cmdai::cpu
