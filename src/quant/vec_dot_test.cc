#include "quant/vec_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace cmdai {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(ActivationTypeFor, PairsEachWeightTypeLikeLlamaCpp) {
  const std::pair<TensorType, TensorType> cases[] = {
      {TensorType::kQ4_K, TensorType::kQ8_K}, {TensorType::kQ5_K, TensorType::kQ8_K},
      {TensorType::kQ6_K, TensorType::kQ8_K}, {TensorType::kQ4_0, TensorType::kQ8_0},
      {TensorType::kQ5_0, TensorType::kQ8_0}, {TensorType::kQ8_0, TensorType::kQ8_0},
      {TensorType::kF16, TensorType::kF16},   {TensorType::kBF16, TensorType::kBF16},
      {TensorType::kF32, TensorType::kF32},
  };
  for (const auto& [weight, activation] : cases) {
    EXPECT_EQ(activation_type_for(weight), activation) << type_name(weight);
  }
}

class VecDotReference : public ::testing::TestWithParam<TensorType> {};

TEST_P(VecDotReference, EqualsTheDotProductOfDequantizedRows) {
  const TensorType wt = GetParam();
  const TensorType at = activation_type_for(wt);
  for (int64_t n : {256, 1536, 4096}) {
    const auto w = gaussian(n, 11), a = gaussian(n, 12);
    std::vector<uint8_t> wq(*row_bytes(wt, n)), aq(*row_bytes(at, n));
    quantize_row(wt, w.data(), wq.data(), n);
    quantize_row(at, a.data(), aq.data(), n);
    std::vector<float> wd(n), ad(n);
    dequantize_row(wt, wq.data(), wd.data(), n);
    dequantize_row(at, aq.data(), ad.data(), n);
    double expected = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i) {
      expected += static_cast<double>(wd[i]) * ad[i];
      magnitude += std::fabs(static_cast<double>(wd[i]) * ad[i]);
    }
    const float got = vec_dot(wt, n, wq.data(), aq.data());
    EXPECT_NEAR(got, expected, 2e-6 * magnitude) << type_name(wt) << " n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, VecDotReference,
                         ::testing::Values(TensorType::kF32, TensorType::kF16, TensorType::kBF16,
                                           TensorType::kQ4_0, TensorType::kQ5_0, TensorType::kQ8_0,
                                           TensorType::kQ4_K, TensorType::kQ5_K, TensorType::kQ6_K),
                         [](const auto& info) { return std::string(type_name(info.param)); });

TEST(VecDot, ReturnsNaNForUnsupportedTypesAndPartialBlocks) {
  std::vector<uint8_t> buf(1024);
  EXPECT_TRUE(std::isnan(vec_dot(TensorType::kQ2_K, 256, buf.data(), buf.data())));
  EXPECT_TRUE(std::isnan(vec_dot(TensorType::kQ4_K, 100, buf.data(), buf.data())));
  EXPECT_EQ(vec_dot(TensorType::kQ8_0, 0, nullptr, nullptr), 0.0f);
}

}  // namespace
}  // namespace cmdai
