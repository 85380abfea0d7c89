// The repacking into MLX's affine layout against the reference dequantization (exact types must
// come back exactly, q6_K within its stated bound), MLX's quantized_matmul on the repacked form,
// and the MLX thread's error boundary.
#include "device/mlx/repack.h"

#include <gtest/gtest.h>
#include <mlx/mlx.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

#include "device/mlx/mlx_thread.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;

// A rows x cols matrix of random weights encoded as `type`, with its reference dequantization.
struct TestMatrix {
  std::vector<uint8_t> bytes;
  std::vector<float> reference;  // dequantize_row of every row: what the CPU engine multiplies
  device::WeightMatrix view;
};

TestMatrix make_matrix(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestMatrix t;
  const size_t row_size = *row_bytes(type, cols);
  t.bytes.resize(row_size * static_cast<size_t>(rows));
  t.reference.resize(static_cast<size_t>(rows * cols));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    // A shifted, uneven row so the mins of q4_K/q5_K and both signs are exercised.
    for (auto& x : row) x = normal(rng) + (r % 3 == 0 ? 0.02f : 0.0f);
    quantize_row(type, row.data(), t.bytes.data() + r * row_size, cols);
    dequantize_row(type, t.bytes.data() + r * row_size, t.reference.data() + r * cols, cols);
  }
  t.view = {type, rows, cols, t.bytes.data(), row_size};
  return t;
}

struct Repacked {
  MlxForm form;
  std::vector<uint32_t> words;
  std::vector<float> scales, biases;
};

Repacked repack(const device::WeightMatrix& m) {
  Repacked r;
  auto form = mlx_form_of(m);
  EXPECT_TRUE(form.ok()) << form.error().to_string();
  r.form = *form;
  const RepackedSizes sizes = repacked_sizes(m, r.form);
  r.words.resize(sizes.word_count);
  r.scales.resize(sizes.group_count);
  r.biases.resize(sizes.group_count);
  repack_affine_rows(m, r.form, 0, m.rows, r.words.data(), r.scales.data(), r.biases.data());
  return r;
}

// MLX's own dequantization of the repacked arrays: [rows, cols] float32.
std::vector<float> mlx_dequantize(const Repacked& r, int rows, int cols) {
  const mx::array w(r.words.begin(), {rows, cols * r.form.bits / 32}, mx::uint32);
  const mx::array scales(r.scales.begin(), {rows, cols / kGroupSize}, mx::float32);
  const mx::array biases(r.biases.begin(), {rows, cols / kGroupSize}, mx::float32);
  mx::array out = mx::dequantize(w, scales, biases, kGroupSize, r.form.bits, "affine");
  mx::eval(out);
  return std::vector<float>(out.data<float>(), out.data<float>() + out.size());
}

class MlxExactRepack : public ::testing::TestWithParam<TensorType> {};

TEST_P(MlxExactRepack, MlxDequantizesToTheReferenceValues) {
  const TensorType type = GetParam();
  const int rows = 6, cols = 512;
  const TestMatrix t = make_matrix(type, rows, cols, 7);
  const Repacked r = repack(t.view);
  ASSERT_TRUE(r.form.exact);
  const std::vector<float> ours = mlx_dequantize(r, rows, cols);
  ASSERT_EQ(ours.size(), t.reference.size());
  // scale and bias are exact float32 products (an f16 times a small integer), and MLX's
  // scale * q + bias rounds as the reference's own float arithmetic does: equal, bit for bit
  // (measured: 0 on every type).
  double max_err = 0, max_abs = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_err = std::max(max_err, std::fabs(double(ours[i]) - t.reference[i]));
    max_abs = std::max(max_abs, std::fabs(double(t.reference[i])));
  }
  std::printf("[repack] %s: max |mlx - reference| %.3g (max |w| %.3g)\n",
              std::string(type_name(type)).c_str(), max_err, max_abs);
  EXPECT_EQ(max_err, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Types, MlxExactRepack,
                         ::testing::Values(TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ8_0,
                                           TensorType::kQ4_0, TensorType::kQ5_0),
                         [](const auto& info) { return std::string(type_name(info.param)); });

TEST(MlxRepack, Q6KStaysWithinAnEighthOfTheLargerSubBlockStep) {
  const int rows = 8, cols = 512;
  const TestMatrix t = make_matrix(TensorType::kQ6_K, rows, cols, 11);
  const Repacked r = repack(t.view);
  EXPECT_FALSE(r.form.exact);
  EXPECT_EQ(r.form.bits, 8);
  const std::vector<float> ours = mlx_dequantize(r, rows, cols);
  double max_err = 0, max_ratio = 0, sum_sq = 0, ref_sq = 0;
  for (size_t g = 0; g < ours.size() / kGroupSize; ++g) {
    const float* ref = t.reference.data() + g * kGroupSize;
    const auto [lo, hi] = std::minmax_element(ref, ref + kGroupSize);
    // The 8-bit grid spans the group's range: half a step is (hi - lo) / 510.
    const double bound = (*hi - *lo) / 510.0 + 1e-7;
    for (int l = 0; l < kGroupSize; ++l) {
      const double err = std::fabs(double(ours[g * kGroupSize + l]) - ref[l]);
      max_err = std::max(max_err, err);
      max_ratio = std::max(max_ratio, err / bound);
      sum_sq += err * err;
      ref_sq += double(ref[l]) * ref[l];
    }
  }
  std::printf(
      "[repack] q6_K -> 8-bit g32: max |err| %.3g, rms err / rms w %.3g, worst %.2f of "
      "the bound\n",
      max_err, std::sqrt(sum_sq / ref_sq), max_ratio);
  EXPECT_LE(max_ratio, 1.0);
}

TEST(MlxQuantizedMatmul, MatchesTheReferenceProductOnRepackedQ4K) {
  const int rows = 64, cols = 256, n = 3;
  const TestMatrix t = make_matrix(TensorType::kQ4_K, rows, cols, 3);
  const Repacked r = repack(t.view);
  std::vector<float> x(static_cast<size_t>(n * cols));
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& v : x) v = normal(rng);
  const mx::array xa(x.begin(), {n, cols}, mx::float32);
  const mx::array w(r.words.begin(), {rows, cols * 4 / 32}, mx::uint32);
  const mx::array scales(r.scales.begin(), {rows, cols / kGroupSize}, mx::float32);
  const mx::array biases(r.biases.begin(), {rows, cols / kGroupSize}, mx::float32);
  mx::array y = mx::quantized_matmul(xa, w, scales, biases, true, kGroupSize, 4, "affine");
  mx::eval(y);
  ASSERT_EQ(y.shape(0), n);
  ASSERT_EQ(y.shape(1), rows);
  for (int i = 0; i < n; ++i) {
    for (int o = 0; o < rows; ++o) {
      double expect = 0;
      for (int c = 0; c < cols; ++c) expect += double(x[i * cols + c]) * t.reference[o * cols + c];
      EXPECT_NEAR(y.data<float>()[i * rows + o], expect, 1e-4) << i << "," << o;
    }
  }
}

TEST(MlxForm, RefusesTypesAndShapesWithoutAnMlxForm) {
  device::WeightMatrix m;
  m.type = TensorType::kQ2_K;
  m.rows = 1;
  m.cols = 256;
  auto form = mlx_form_of(m);
  ASSERT_FALSE(form.ok());
  EXPECT_EQ(form.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(form.error().message.find("q2_K"), std::string::npos) << form.error().message;
  m.type = TensorType::kQ8_0;
  m.cols = 48;
  EXPECT_EQ(mlx_form_of(m).error().code, ErrorCode::kUnsupported);
  m.type = TensorType::kF16;
  EXPECT_TRUE(mlx_form_of(m).ok());
}

TEST(MlxThread, ExceptionsBecomeErrorsNamingMlx) {
  MlxThread thread;
  const Status status = thread.run("a test", [] {
    mx::eval(mx::reshape(mx::zeros({3}), {2}));  // MLX throws: 3 elements cannot be 2
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kDeviceError);
  EXPECT_NE(status.error().message.find("MLX error during a test"), std::string::npos)
      << status.error().message;
  const Status oom = thread.run("allocating", []() -> Status { throw std::bad_alloc(); });
  EXPECT_EQ(oom.error().code, ErrorCode::kResourceExhausted);
  // The thread goes on serving after a failure.
  EXPECT_TRUE(thread.run("a second task", [] { return ok_status(); }).ok());
}

}  // namespace
}  // namespace cmdai::mlx_device
