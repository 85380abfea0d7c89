// Decodes tensors of the shared tiny-qwen2 files, quantized by llama.cpp from the same f16
// weights: the Q4_K_M file's q4_K/q6_K decodings must agree with the Q8_0 file's q8_0 decoding
// to within quantization error (measured: q4_K 7.2%, q6_K 1.9% relative RMS), which a wrong bit
// layout would not.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <optional>
#include <ostream>
#include <vector>

#include "base/testdata.h"
#include "base/testdata_gtest.h"
#include "quant/dequantize.h"

namespace cmdai {
namespace {

constexpr uint64_t kDataOffset = 5932544;  // both files (tiny-qwen2-*.tensors.json)

std::optional<std::vector<float>> read_tensor(const std::string& file, uint64_t offset,
                                              TensorType type, int64_t cols, int64_t rows) {
  const size_t bytes = *row_bytes(type, cols) * static_cast<size_t>(rows);
  // A file too short to hold the tensor fails the test (base/testdata_gtest.h).
  const auto path = require_testdata_file(file, kDataOffset + offset + bytes);
  if (!path) return std::nullopt;
  std::ifstream in(*path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<char> raw(bytes);
  in.seekg(static_cast<std::streamoff>(kDataOffset + offset));
  if (!in.read(raw.data(), static_cast<std::streamsize>(bytes))) return std::nullopt;
  std::vector<float> out(static_cast<size_t>(cols * rows));
  dequantize_row(type, raw.data(), out.data(), cols * rows);
  return out;
}

struct SameTensorCase {
  const char* name;
  TensorType type;              // in tiny-qwen2-q4_k_m.gguf
  uint64_t offset_k, offset_8;  // in the Q4_K_M and Q8_0 files
  int64_t cols, rows;
  double std_dev;           // of the generator: N(0, std_dev)
  double max_relative_rms;  // |q4_K_M decode - q8_0 decode| / rms
  friend void PrintTo(const SameTensorCase& c, std::ostream* os) { *os << c.name; }
};

class RealWeights : public ::testing::TestWithParam<SameTensorCase> {};

TEST_P(RealWeights, LlamaCppQuantizationsOfTheSameTensorDecodeAlike) {
  const SameTensorCase& c = GetParam();
  const auto k = read_tensor("tiny-qwen2-q4_k_m.gguf", c.offset_k, c.type, c.cols, c.rows);
  const auto q8 =
      read_tensor("tiny-qwen2-q8_0.gguf", c.offset_8, TensorType::kQ8_0, c.cols, c.rows);
  if (!k || !q8) GTEST_SKIP() << "shared testdata not found";
  double diff = 0, energy = 0;
  for (size_t i = 0; i < k->size(); ++i) {
    diff += ((*k)[i] - (*q8)[i]) * static_cast<double>((*k)[i] - (*q8)[i]);
    energy += (*q8)[i] * static_cast<double>((*q8)[i]);
  }
  const double rms = std::sqrt(energy / static_cast<double>(k->size()));
  EXPECT_NEAR(rms, c.std_dev, 0.05 * c.std_dev) << c.name;
  EXPECT_LT(std::sqrt(diff / energy), c.max_relative_rms) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    TinyQwen2, RealWeights,
    ::testing::Values(SameTensorCase{"blk0_ffn_up_q4_K", TensorType::kQ4_K, 32169728, 41819136, 256,
                                     512, 0.08, 0.085},
                      SameTensorCase{"blk1_ffn_down_q6_K", TensorType::kQ6_K, 32365568, 42170368,
                                     512, 256, 0.08, 0.025},
                      SameTensorCase{"blk1_attn_v_q6_K", TensorType::kQ6_K, 32338688, 42135552, 256,
                                     128, 0.08, 0.025},
                      SameTensorCase{"token_embd_first_rows_q6_K", TensorType::kQ6_K, 1024, 1024,
                                     256, 2048, 0.1, 0.025}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cmdai
