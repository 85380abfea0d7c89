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

// Rows are handed out in multiples of this: the one-token kernels work on groups of 4 rows, the
// AVX-512 tiles on panels of 16 (a 12-row chunk left a quarter of a panel's lanes empty; at 16
// threads most chunks of a 1536-row matrix were that size).
inline int64_t row_grain(int64_t n_tokens) { return n_tokens > 1 ? 16 : 4; }

// Runs fn over [0, rows) in chunks that threads claim as they go, not one fixed share each: a
// thread that starts late (the OS gave its core to another process) then costs only its own
// chunk, not half the matmul. Every row's result is independent of who computes it, so results
// stay bit-identical for any thread count.
void for_row_chunks(ThreadPool& pool, int64_t rows, int64_t grain,
                    const std::function<void(int64_t, int64_t)>& fn) {
  const int threads = pool.size();
  if (threads <= 1 || rows <= grain) {
    fn(0, rows);
    return;
  }
  constexpr int kChunksPerThread = 8;
  int64_t chunk = std::max<int64_t>(grain, rows / (threads * kChunksPerThread));
  chunk = (chunk + grain - 1) / grain * grain;
  std::atomic<int64_t> next{0};
  pool.run([&](int) {
    for (;;) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= rows) return;
      fn(begin, std::min(rows, begin + chunk));
    }
  });
}

// Activations of n_tokens rows in the partner format of `type` (or x itself for f32 partners).
struct PreparedInput {
  const uint8_t* data = nullptr;
  size_t stride = 0;
};

PreparedInput prepare_input(TensorType type, int64_t cols, const float* x, int64_t n_tokens,
                            ThreadPool& pool) {
  const TensorType at = activation_type_for(type);
  const QuantizeFn quantize = best_kernels().quantize(at);
  if (quantize == nullptr) {
    return {reinterpret_cast<const uint8_t*>(x), static_cast<size_t>(cols) * sizeof(float)};
  }
  const size_t stride = *row_bytes(at, cols);
  std::vector<uint8_t>& scratch = activation_scratch();
  if (scratch.size() < stride * static_cast<size_t>(n_tokens)) {
    scratch.resize(stride * static_cast<size_t>(n_tokens));
  }
  uint8_t* dst = scratch.data();
  auto quantize_range = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) quantize(x + t * cols, dst + t * stride, cols);
  };
  if (n_tokens == 1) {
    quantize_range(0, 1);
  } else {
    pool.parallel_for(n_tokens, quantize_range);
  }
  return {dst, stride};
}

// Rows r0..r1 of y = W x through the table's tile (or one-token) kernel.
void multiply_rows(const WeightMatrix& w, const PreparedInput& in, int64_t n_tokens, float* y,
                   int64_t r0, int64_t r1) {
  const KernelSet& ks = best_kernels();
  const GemmFn gemv = n_tokens == 1 ? ks.gemv(w.type) : nullptr;
  const GemmFn gemm = gemv != nullptr ? gemv : ks.gemm(w.type);
  if (gemm != nullptr) {
    gemm(w.cols, w.data, w.row_bytes, r0, r1, in.data, in.stride, n_tokens, y, w.rows);
  } else {
    gemm_by_vec_dot(ks.vec_dot(w.type), w.cols, w.data, w.row_bytes, r0, r1, in.data, in.stride,
                    n_tokens, y, w.rows);
  }
}

void matmul_fast(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool& pool) {
  const PreparedInput in = prepare_input(w.type, w.cols, x, n_tokens, pool);
  for_row_chunks(pool, w.rows, row_grain(n_tokens),
                 [&](int64_t r0, int64_t r1) { multiply_rows(w, in, n_tokens, y, r0, r1); });
}

// One piece of a shared-input batch: rows [r0, r1) of output `index`.
struct RowChunk {
  int index;
  int64_t r0, r1;
};

// The batch's row chunks, sized like for_row_chunks' for each matrix, claimed dynamically by
// every thread of one pool run.
void matmul_fast_shared(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens,
                        ThreadPool& pool) {
  const WeightMatrix& first = *outputs[0].w;
  const PreparedInput in = prepare_input(first.type, first.cols, x, n_tokens, pool);
  // Reused (no allocation per call); a plain reference, since lambdas running on the workers
  // would otherwise name their own thread's (empty) instance.
  thread_local std::vector<RowChunk> chunk_storage;
  std::vector<RowChunk>& chunks = chunk_storage;
  chunks.clear();
  const int threads = pool.size();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const int64_t rows = outputs[i].w->rows;
    const int64_t grain = row_grain(n_tokens);
    int64_t chunk = std::max<int64_t>(grain, rows / (std::max(threads, 1) * 8));
    chunk = (chunk + grain - 1) / grain * grain;
    for (int64_t r = 0; r < rows; r += chunk) {
      chunks.push_back({static_cast<int>(i), r, std::min(rows, r + chunk)});
    }
  }
  std::atomic<size_t> next{0};
  auto run_chunks = [&](int) {
    for (;;) {
      const size_t k = next.fetch_add(1, std::memory_order_relaxed);
      if (k >= chunks.size()) return;
      const RowChunk& c = chunks[k];
      multiply_rows(*outputs[c.index].w, in, n_tokens, outputs[c.index].y, c.r0, c.r1);
    }
  };
  if (threads <= 1) {
    run_chunks(0);
  } else {
    pool.run(run_chunks);
  }
}

void matmul_exact(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
                  ThreadPool& pool) {
  const ExactDotFn dot = best_kernels().exact_dot;
  pool.parallel_for(w.rows, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(
        static_cast<size_t>(w.cols));  // each row decoded once, used by all tokens
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

void matmul_shared_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens,
                         ThreadPool& pool, MatmulPrecision precision) {
  if (outputs.empty() || n_tokens <= 0) return;
  // One quantized input serves every matrix only when they share its format and length.
  bool shareable = precision == MatmulPrecision::kFast && x != nullptr;
  for (const MatmulOutput& o : outputs) {
    shareable = shareable && o.w != nullptr && o.y != nullptr && valid(*o.w) && o.w->rows > 0 &&
                o.w->cols == outputs[0].w->cols &&
                activation_type_for(o.w->type) == activation_type_for(outputs[0].w->type);
  }
  if (!shareable) {
    for (const MatmulOutput& o : outputs) {
      if (o.w != nullptr) matmul(*o.w, x, n_tokens, o.y, pool, precision);
    }
    return;
  }
  matmul_fast_shared(outputs, x, n_tokens, pool);
}

}  // namespace cmdai::cpu
