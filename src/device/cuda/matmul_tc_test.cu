// launch_matmul_tc against a float64 host reference for each quant type and prefill shape, with
// timings. Exits 1 on a failure, 77 without a GPU. Flags: --all-tiles (time every tile shape),
// --bench [--tokens N] (Qwen2.5-1.5B's matmul shapes, timed only).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "device/cuda/matmul_tc.cuh"

#define CHECK_CUDA(call)                                                 \
  do {                                                                   \
    const cudaError_t err_ = (call);                                     \
    if (err_ != cudaSuccess) {                                           \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                   cudaGetErrorString(err_));                            \
      std::exit(1);                                                      \
    }                                                                    \
  } while (0)

namespace cmdai::cuda {
namespace {

constexpr double kTolerance = 2e-3;
constexpr int kTimedReps = 20;
constexpr uint32_t kPoison = 0xFFFFFFFFu;  // a NaN

const char* type_name(GpuType t) {
  switch (t) {
    case GpuType::kQ4K:
      return "q4_K";
    case GpuType::kQ5K:
      return "q5_K";
    case GpuType::kQ6K:
      return "q6_K";
    case GpuType::kQ8_0:
      return "q8_0";
    default:
      return "?";
  }
}

const char* tile_name(TcTile t) {
  switch (t) {
    case TcTile::k128x128:
      return "128x128";
    case TcTile::k64x128:
      return "64x128";
    case TcTile::k64x64:
      return "64x64";
    default:
      return "auto";
  }
}

uint16_t half_bits(float v) {
  const __half h = __float2half(v);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof(bits));
  return bits;
}

double half_value(const uint8_t* p) {
  __half h;
  std::memcpy(&h, p, sizeof(h));
  return static_cast<double>(__half2float(h));
}

// Quantized weights on the host, laid out as GpuMatrix reads them.
struct HostWeights {
  GpuType type = GpuType::kQ4K;
  int rows = 0;
  int cols = 0;
  int blocks_per_row = 0;
  size_t row_bytes = 0;
  std::vector<uint8_t> q;
  std::vector<int8_t> scales;  // q6_K
  std::vector<uint8_t> d;      // q6_K, q8_0: f16 bits, one a block
};

// Random blocks: random quant and scale bytes, f16 d (and dmin) of a sane size.
HostWeights random_weights(GpuType type, int rows, int cols, std::mt19937_64& rng) {
  HostWeights w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  const auto random_bytes = [&rng](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t v = rng();
      std::memcpy(p + i, &v, std::min<size_t>(8, n - i));
    }
  };
  std::uniform_real_distribution<float> d_dist(0.002f, 0.01f), dmin_dist(0.001f, 0.005f);
  const auto put_half = [](uint8_t* p, float v) {
    const uint16_t bits = half_bits(v);
    std::memcpy(p, &bits, sizeof(bits));
  };
  if (type == GpuType::kQ4K || type == GpuType::kQ5K) {
    const size_t block_bytes = type == GpuType::kQ4K ? 144 : 176;
    w.blocks_per_row = cols / 256;
    w.row_bytes = block_bytes * w.blocks_per_row;
    w.q.resize(w.row_bytes * rows);
    random_bytes(w.q.data(), w.q.size());
    for (size_t b = 0; b < w.q.size() / block_bytes; ++b) {
      put_half(&w.q[b * block_bytes], d_dist(rng));
      put_half(&w.q[b * block_bytes + 2], dmin_dist(rng));
    }
  } else {
    const size_t block_quants = type == GpuType::kQ6K ? 192 : 32;
    w.blocks_per_row = type == GpuType::kQ6K ? cols / 256 : cols / 32;
    w.row_bytes = block_quants * w.blocks_per_row;
    const size_t blocks = static_cast<size_t>(w.blocks_per_row) * rows;
    w.q.resize(block_quants * blocks);
    random_bytes(w.q.data(), w.q.size());
    if (type == GpuType::kQ6K) {
      w.scales.resize(16 * blocks);
      random_bytes(reinterpret_cast<uint8_t*>(w.scales.data()), w.scales.size());
    }
    w.d.resize(2 * blocks);
    for (size_t b = 0; b < blocks; ++b) put_half(&w.d[2 * b], d_dist(rng));
  }
  return w;
}

// Scale and min number i (0..7) of a K-quant block's 12 scale bytes.
void k_scale_min(const uint8_t* s, int i, int* scale, int* min) {
  if (i < 4) {
    *scale = s[i] & 63;
    *min = s[i + 4] & 63;
  } else {
    *scale = (s[i + 4] & 0xF) | ((s[i - 4] >> 6) << 4);
    *min = (s[i + 4] >> 4) | ((s[i] >> 6) << 4);
  }
}

// Row r of w, dequantized in float64.
void dequantize_row(const HostWeights& w, int r, double* out) {
  for (int c = 0; c < w.blocks_per_row; ++c) {
    if (w.type == GpuType::kQ4K || w.type == GpuType::kQ5K) {
      const bool q5 = w.type == GpuType::kQ5K;
      const uint8_t* block = w.q.data() + r * w.row_bytes + c * (q5 ? 176 : 144);
      const double d = half_value(block), dmin = half_value(block + 2);
      const uint8_t* qh = block + 16;
      const uint8_t* qs = block + (q5 ? 48 : 16);
      double* o = out + 256 * c;
      for (int j = 0; j < 4; ++j) {
        int sc_lo, m_lo, sc_hi, m_hi;
        k_scale_min(block + 4, 2 * j, &sc_lo, &m_lo);
        k_scale_min(block + 4, 2 * j + 1, &sc_hi, &m_hi);
        for (int l = 0; l < 32; ++l) {
          int lo = qs[32 * j + l] & 0xF, hi = qs[32 * j + l] >> 4;
          if (q5) {
            lo += ((qh[l] >> (2 * j)) & 1) << 4;
            hi += ((qh[l] >> (2 * j + 1)) & 1) << 4;
          }
          o[64 * j + l] = d * sc_lo * lo - dmin * m_lo;
          o[64 * j + 32 + l] = d * sc_hi * hi - dmin * m_hi;
        }
      }
    } else if (w.type == GpuType::kQ6K) {
      const size_t b = static_cast<size_t>(r) * w.blocks_per_row + c;
      const uint8_t* ql = w.q.data() + b * 192;
      const uint8_t* qh = ql + 128;
      const int8_t* sc = w.scales.data() + b * 16;
      const double d = half_value(&w.d[2 * b]);
      double* o = out + 256 * c;
      for (int h = 0; h < 2; ++h) {
        for (int l = 0; l < 32; ++l) {
          const int q1 = ((ql[64 * h + l] & 0xF) | (((qh[32 * h + l] >> 0) & 3) << 4)) - 32;
          const int q2 = ((ql[64 * h + 32 + l] & 0xF) | (((qh[32 * h + l] >> 2) & 3) << 4)) - 32;
          const int q3 = ((ql[64 * h + l] >> 4) | (((qh[32 * h + l] >> 4) & 3) << 4)) - 32;
          const int q4 = ((ql[64 * h + 32 + l] >> 4) | (((qh[32 * h + l] >> 6) & 3) << 4)) - 32;
          const int s = 8 * h + l / 16;
          o[128 * h + l] = d * sc[s] * q1;
          o[128 * h + 32 + l] = d * sc[s + 2] * q2;
          o[128 * h + 64 + l] = d * sc[s + 4] * q3;
          o[128 * h + 96 + l] = d * sc[s + 6] * q4;
        }
      }
    } else {
      const size_t b = static_cast<size_t>(r) * w.blocks_per_row + c;
      const int8_t* qs = reinterpret_cast<const int8_t*>(w.q.data() + b * 32);
      const double d = half_value(&w.d[2 * b]);
      for (int l = 0; l < 32; ++l) out[32 * c + l] = d * qs[l];
    }
  }
}

// ref[t * rows + r] = W[r] . x[t] in float64, rows spread over the host's cores.
std::vector<double> reference(const HostWeights& w, const std::vector<float>& x, int n_tokens) {
  std::vector<double> ref(static_cast<size_t>(n_tokens) * w.rows);
  const int n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (int i = 0; i < n_threads; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> row(w.cols);
      for (int r = i; r < w.rows; r += n_threads) {
        dequantize_row(w, r, row.data());
        for (int t = 0; t < n_tokens; ++t) {
          const float* xt = x.data() + static_cast<size_t>(t) * w.cols;
          double sum = 0.0;
          for (int k = 0; k < w.cols; ++k) sum += row[k] * xt[k];
          ref[static_cast<size_t>(t) * w.rows + r] = sum;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return ref;
}

// The weights in device memory, and the GpuMatrix that describes them.
struct DeviceWeights {
  GpuMatrix m;
  std::vector<void*> buffers;

  explicit DeviceWeights(const HostWeights& w) {
    m.type = w.type;
    m.rows = w.rows;
    m.cols = w.cols;
    m.row_bytes = w.row_bytes;
    m.blocks_per_row = w.blocks_per_row;
    m.q = static_cast<const uint8_t*>(upload(w.q.data(), w.q.size()));
    if (!w.scales.empty()) {
      m.scales = static_cast<const int8_t*>(upload(w.scales.data(), w.scales.size()));
    }
    if (!w.d.empty()) m.d = static_cast<const __half*>(upload(w.d.data(), w.d.size()));
  }
  ~DeviceWeights() {
    for (void* p : buffers) cudaFree(p);
  }
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  void* upload(const void* data, size_t bytes) {
    void* p = nullptr;
    CHECK_CUDA(cudaMalloc(&p, bytes));
    CHECK_CUDA(cudaMemcpy(p, data, bytes, cudaMemcpyHostToDevice));
    buffers.push_back(p);
    return p;
  }
};

// Device buffers for one shape: x, y (n_tokens rows of y_stride floats plus a poisoned tail)
// and scratch.
struct Buffers {
  float* x = nullptr;
  float* y = nullptr;
  void* scratch = nullptr;
  size_t y_floats = 0;

  Buffers(const std::vector<float>& host_x, int n_tokens, int cols, int y_stride) {
    CHECK_CUDA(cudaMalloc(&x, host_x.size() * sizeof(float)));
    CHECK_CUDA(cudaMemcpy(x, host_x.data(), host_x.size() * sizeof(float), cudaMemcpyHostToDevice));
    y_floats = static_cast<size_t>(n_tokens) * y_stride + 64;
    CHECK_CUDA(cudaMalloc(&y, y_floats * sizeof(float)));
    CHECK_CUDA(cudaMalloc(&scratch, matmul_tc_scratch_bytes(n_tokens, cols)));
  }
  ~Buffers() {
    cudaFree(x);
    cudaFree(y);
    cudaFree(scratch);
  }
  Buffers(const Buffers&) = delete;
  Buffers& operator=(const Buffers&) = delete;
};

// Microseconds a call, over kTimedReps calls after a warm-up.
double time_call(const GpuMatrix& m, Buffers& b, int n_tokens, int y_stride, TcTile tile) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  launch_matmul_tc(m, b.x, n_tokens, b.y, y_stride, b.scratch, nullptr, tile);
  CHECK_CUDA(cudaEventRecord(start));
  for (int i = 0; i < kTimedReps; ++i) {
    launch_matmul_tc(m, b.x, n_tokens, b.y, y_stride, b.scratch, nullptr, tile);
  }
  CHECK_CUDA(cudaEventRecord(stop));
  CHECK_CUDA(cudaEventSynchronize(stop));
  CHECK_CUDA(cudaGetLastError());
  float ms = 0.0f;
  CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  return 1000.0 * ms / kTimedReps;
}

double tflops(int rows, int cols, int n_tokens, double us) {
  return 2.0 * rows * cols * n_tokens / (us * 1e-6) / 1e12;
}

// Runs one tile shape on poisoned y and returns max over tokens of |y_t - ref_t| / |ref_t|
// (infinity if an output is not finite or a write strayed outside the outputs).
double run_and_compare(const GpuMatrix& m, Buffers& b, int n_tokens, int y_stride,
                       const std::vector<double>& ref, TcTile tile) {
  CHECK_CUDA(cudaMemset(b.y, 0xFF, b.y_floats * sizeof(float)));
  if (!launch_matmul_tc(m, b.x, n_tokens, b.y, y_stride, b.scratch, nullptr, tile)) {
    std::printf("  launch_matmul_tc refused %s\n", tile_name(tile));
    return INFINITY;
  }
  CHECK_CUDA(cudaDeviceSynchronize());
  CHECK_CUDA(cudaGetLastError());
  std::vector<float> y(b.y_floats);
  CHECK_CUDA(cudaMemcpy(y.data(), b.y, y.size() * sizeof(float), cudaMemcpyDeviceToHost));
  double worst = 0.0;
  for (int t = 0; t < n_tokens; ++t) {
    double err = 0.0, norm = 0.0;
    for (int r = 0; r < y_stride; ++r) {
      const float v = y[static_cast<size_t>(t) * y_stride + r];
      if (r >= m.rows) {
        uint32_t bits;
        std::memcpy(&bits, &v, sizeof(bits));
        if (bits != kPoison) return INFINITY;  // wrote into the stride's padding
        continue;
      }
      if (!std::isfinite(v)) return INFINITY;
      const double want = ref[static_cast<size_t>(t) * m.rows + r];
      err += (v - want) * (v - want);
      norm += want * want;
    }
    worst = std::max(worst, std::sqrt(err / std::max(norm, 1e-300)));
  }
  for (size_t i = static_cast<size_t>(n_tokens) * y_stride; i < y.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &y[i], sizeof(bits));
    if (bits != kPoison) return INFINITY;  // wrote past the end
  }
  return worst;
}

std::vector<float> random_x(size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

constexpr GpuType kTypes[] = {GpuType::kQ4K, GpuType::kQ5K, GpuType::kQ6K, GpuType::kQ8_0};
constexpr TcTile kTiles[] = {TcTile::k128x128, TcTile::k64x128, TcTile::k64x64};

struct Shape {
  int rows, cols, n_tokens, y_stride;
};

bool check_all(bool all_tiles) {
  const Shape shapes[] = {{256, 1536, 17, 256 + 5},  // a padded y stride
                          {1536, 8960, 64, 1536},
                          {8960, 1536, 512, 8960},
                          {300, 256, 1, 300}};
  std::mt19937_64 rng(12345);
  bool ok = true;
  for (GpuType type : kTypes) {
    for (const Shape& s : shapes) {
      const HostWeights host = random_weights(type, s.rows, s.cols, rng);
      const std::vector<float> x = random_x(static_cast<size_t>(s.n_tokens) * s.cols, rng);
      const std::vector<double> ref = reference(host, x, s.n_tokens);
      DeviceWeights weights(host);
      Buffers buffers(x, s.n_tokens, s.cols, s.y_stride);
      // Every tile shape must be right, whichever one auto picks on this GPU.
      double err = run_and_compare(weights.m, buffers, s.n_tokens, s.y_stride, ref, TcTile::kAuto);
      for (TcTile tile : kTiles) {
        err = std::max(err, run_and_compare(weights.m, buffers, s.n_tokens, s.y_stride, ref, tile));
      }
      const bool pass = err < kTolerance;
      ok = ok && pass;
      const double us = time_call(weights.m, buffers, s.n_tokens, s.y_stride, TcTile::kAuto);
      std::printf("%s %-4s rows %5d cols %5d n %3d: rel err %.2e, %8.1f us, %6.1f TFLOP/s\n",
                  pass ? "ok  " : "FAIL", type_name(type), s.rows, s.cols, s.n_tokens, err, us,
                  tflops(s.rows, s.cols, s.n_tokens, us));
      if (all_tiles) {
        for (TcTile tile : kTiles) {
          const double tile_us = time_call(weights.m, buffers, s.n_tokens, s.y_stride, tile);
          std::printf("       tile %-7s %8.1f us, %6.1f TFLOP/s\n", tile_name(tile), tile_us,
                      tflops(s.rows, s.cols, s.n_tokens, tile_us));
        }
      }
    }
  }
  return ok;
}

// Times Qwen2.5-1.5B's products at n_tokens (weights random, not checked) and sums a whole
// prefill's matmul time: 28 layers of q, k, v, o, gate, up, down, then the output head.
void bench(int n_tokens, bool all_tiles) {
  struct Product {
    const char* name;
    int rows, cols, per_model;
  };
  const Product products[] = {{"q/o", 1536, 1536, 56},
                              {"k/v", 256, 1536, 56},
                              {"gate/up", 8960, 1536, 56},
                              {"down", 1536, 8960, 28},
                              {"vocab", 151936, 1536, 1}};
  std::mt19937_64 rng(777);
  for (GpuType type : kTypes) {
    double total_us = 0.0, total_flop = 0.0;
    for (const Product& p : products) {
      const HostWeights host = random_weights(type, p.rows, p.cols, rng);
      const std::vector<float> x = random_x(static_cast<size_t>(n_tokens) * p.cols, rng);
      DeviceWeights weights(host);
      Buffers buffers(x, n_tokens, p.cols, p.rows);
      const double us = time_call(weights.m, buffers, n_tokens, p.rows, TcTile::kAuto);
      total_us += us * p.per_model;
      total_flop += 2.0 * p.rows * p.cols * n_tokens * p.per_model;
      std::printf("%s %-8s %6d x %5d, n %d: %8.1f us, %6.1f TFLOP/s\n", type_name(type), p.name,
                  p.rows, p.cols, n_tokens, us, tflops(p.rows, p.cols, n_tokens, us));
      if (all_tiles) {
        for (TcTile tile : kTiles) {
          const double tile_us = time_call(weights.m, buffers, n_tokens, p.rows, tile);
          std::printf("       tile %-7s %8.1f us, %6.1f TFLOP/s\n", tile_name(tile), tile_us,
                      tflops(p.rows, p.cols, n_tokens, tile_us));
        }
      }
    }
    std::printf("%s all matmuls of a %d-token prefill: %.2f ms, %.1f TFLOP/s\n\n", type_name(type),
                n_tokens, total_us / 1000.0, total_flop / (total_us * 1e6));
  }
}

}  // namespace
}  // namespace cmdai::cuda

int main(int argc, char** argv) {
  bool all_tiles = false, bench = false;
  int n_tokens = 512;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--all-tiles") {
      all_tiles = true;
    } else if (arg == "--bench") {
      bench = true;
    } else if (arg == "--tokens" && i + 1 < argc) {
      n_tokens = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--all-tiles] [--bench [--tokens N]]\n", argv[0]);
      return 2;
    }
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);
  if (bench) {
    cmdai::cuda::bench(n_tokens, all_tiles);
    return 0;
  }
  const bool ok = cmdai::cuda::check_all(all_tiles);
  std::printf(ok ? "all passed\n" : "FAILED\n");
  return ok ? 0 : 1;
}
