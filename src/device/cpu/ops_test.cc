#include "device/cpu/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "device/cpu/ops_kernels.h"

namespace cmdai::cpu {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(RmsNorm, ScalesEachRowToUnitRmsTimesWeight) {
  ThreadPool pool(2);
  const std::vector<float> x = {1, 2, 3, 4, -2, 0, 0, 2};
  const std::vector<float> w = {1, 0.5f, 2, 1};
  std::vector<float> y(8);
  rms_norm(x.data(), w.data(), 2, 4, 1e-5f, y.data(), pool);
  const float s0 = 1.0f / std::sqrt((1 + 4 + 9 + 16) / 4.0f + 1e-5f);
  const float s1 = 1.0f / std::sqrt((4 + 4) / 4.0f + 1e-5f);
  const std::vector<float> want = {1 * s0, 2 * s0 * 0.5f, 3 * s0 * 2, 4 * s0, -2 * s1, 0,
                                   0,      2 * s1};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-6f) << i;
}

// Hand computation: one head of 4 dims, n_rot 4, base 100, position 3.
// Pair i turns by 3 * 100^(-2i/4): angles 3 and 0.3.
struct RopeCase {
  RopeMode mode;
  int a0, b0, a1, b1;  // the element indices each pair rotates
};

class RopeMatchesHandComputation : public ::testing::TestWithParam<RopeCase> {};

TEST_P(RopeMatchesHandComputation, ForBothAngleModes) {
  const RopeCase c = GetParam();
  ThreadPool pool(1);
  for (bool exact : {false, true}) {
    std::vector<float> x = {0.5f, -1.0f, 2.0f, 0.25f};
    const std::vector<float> in = x;
    RopeParams p{1, 4, 4, 100.0f, c.mode, exact};
    rope(x.data(), 1, 3, p, pool);
    std::vector<float> want = in;
    const double angles[2] = {3.0, 0.3};
    const int pairs[2][2] = {{c.a0, c.b0}, {c.a1, c.b1}};
    for (int i = 0; i < 2; ++i) {
      const int a = pairs[i][0], b = pairs[i][1];
      want[a] = static_cast<float>(in[a] * std::cos(angles[i]) - in[b] * std::sin(angles[i]));
      want[b] = static_cast<float>(in[a] * std::sin(angles[i]) + in[b] * std::cos(angles[i]));
    }
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(x[i], want[i], 2e-6f) << "exact=" << exact << " i=" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, RopeMatchesHandComputation,
                         ::testing::Values(RopeCase{RopeMode::kNormal, 0, 1, 2, 3},
                                           RopeCase{RopeMode::kNeox, 0, 2, 1, 3}));

TEST(Rope, LeavesDimensionsPastNRotAndPositionZeroUnchanged) {
  ThreadPool pool(1);
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};  // token 0 at pos 0, token 1 at pos 1
  RopeParams p{1, 4, 2, 10000.0f, RopeMode::kNeox, false};
  rope(x.data(), 2, 0, p, pool);
  EXPECT_EQ(x[0], 1);
  EXPECT_EQ(x[1], 2);
  EXPECT_EQ(x[2], 3);
  EXPECT_EQ(x[3], 4);
  EXPECT_NE(x[4], 5);  // position 1 rotates the first pair
  EXPECT_EQ(x[6], 7);
  EXPECT_EQ(x[7], 8);
}

TEST(Softmax, SumsToOneAndKeepsOrderWithLargeInputs) {
  std::vector<float> x = {1000.0f, 999.0f, 998.0f};
  softmax(x.data(), 3);
  EXPECT_NEAR(x[0] + x[1] + x[2], 1.0f, 1e-6f);
  EXPECT_NEAR(x[0], 1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-6);
  EXPECT_GT(x[0], x[1]);
  EXPECT_GT(x[1], x[2]);
}

TEST(Swiglu, GatesUpBySiluOfGate) {
  ThreadPool pool(2);
  const std::vector<float> gate = {0.0f, 1.0f, -2.0f};
  const std::vector<float> up = {3.0f, 2.0f, 1.0f};
  std::vector<float> out(3);
  swiglu(gate.data(), up.data(), 3, out.data(), pool);
  EXPECT_FLOAT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(out[2], -2.0 / (1.0 + std::exp(2.0)), 1e-6);
}

TEST(Swiglu, EveryTableIsWithinAFewUlpsOfDoubleArithmeticOverTheWholeRange) {
  std::vector<float> gate, up;
  for (float g = -120.0f; g <= 120.0f; g += 0.0137f) gate.push_back(g);
  for (float g : {0.0f, -0.0f, 1e-30f, -1e-30f, 87.0f, -87.0f, 88.5f, -88.5f, 89.0f, -89.0f})
    gate.push_back(g);
  for (size_t i = 0; i < gate.size(); ++i) up.push_back(0.5f + static_cast<float>(i % 7));
  const auto n = static_cast<int64_t>(gate.size());
  for (const AttentionKernels* kernels : available_attention_kernels()) {
    if (kernels->swiglu == nullptr) continue;
    std::vector<float> out(gate.size());
    kernels->swiglu(gate.data(), up.data(), n, out.data());
    for (size_t i = 0; i < gate.size(); ++i) {
      const double want = gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))) * up[i];
      // A few ulps where the value is a normal float; silu of very negative gates is ~0.
      const double tolerance = std::max(std::abs(want) * 1e-6, 1e-30);
      ASSERT_NEAR(out[i], want, tolerance) << kernels->name << " gate " << gate[i];
    }
  }
}

// Naive attention in double over f32 caches, for one batch of queries at pos0.
std::vector<float> naive_attention(const std::vector<float>& q, int64_t n_tokens,
                                   const std::vector<float>& k, const std::vector<float>& v,
                                   const AttentionParams& p) {
  const int64_t hd = p.head_dim, qs = p.n_heads * hd, ks = p.n_kv_heads * hd;
  std::vector<float> out(static_cast<size_t>(n_tokens * qs));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t h = 0; h < p.n_heads; ++h) {
      const int64_t kvh = h / (p.n_heads / p.n_kv_heads);
      const int64_t n_keys = p.pos0 + t + 1;
      std::vector<double> s(static_cast<size_t>(n_keys));
      double max_s = -1e300, sum = 0;
      for (int64_t j = 0; j < n_keys; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < hd; ++d)
          dot += double(q[t * qs + h * hd + d]) * k[j * ks + kvh * hd + d];
        s[j] = dot * p.scale;
        max_s = std::max(max_s, s[j]);
      }
      for (double& x : s) sum += (x = std::exp(x - max_s));
      for (int64_t d = 0; d < hd; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < n_keys; ++j) acc += s[j] / sum * v[j * ks + kvh * hd + d];
        out[t * qs + h * hd + d] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

TEST(CausalAttention, MatchesNaiveGroupedQueryAttention) {
  ThreadPool pool(2);
  AttentionParams p;
  p.n_heads = 4;
  p.n_kv_heads = 2;
  p.head_dim = 8;
  p.pos0 = 3;  // three positions already cached, five new queries
  p.scale = 1.0f / std::sqrt(8.0f);
  const int64_t n_tokens = 5, n_ctx = 8;
  const auto q = random_values(n_tokens * 32, 1);
  const auto k = random_values(n_ctx * 16, 2);
  const auto v = random_values(n_ctx * 16, 3);
  const auto want = naive_attention(q, n_tokens, k, v, p);

  p.round_to_f16 = false;
  std::vector<float> out(want.size());
  causal_attention(q.data(), n_tokens, KvLayerView{k.data(), v.data(), false}, p, out.data(), pool);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-5f) << i;

  // The llama.cpp-like path: f16 cache, q and probabilities rounded to f16; every kernel table.
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) k16[i] = f32_to_fp16(k[i]);
  for (size_t i = 0; i < v.size(); ++i) v16[i] = f32_to_fp16(v[i]);
  p.round_to_f16 = true;
  for (const AttentionKernels* kernels : available_attention_kernels()) {
    causal_attention_with(*kernels, q.data(), n_tokens, KvLayerView{k16.data(), v16.data(), true},
                          p, out.data(), pool);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(out[i], want[i], 5e-3f) << kernels->name << " " << i;
    }
  }
}

TEST(CausalAttention, GroupedHeadKernelsGiveTheHeadByHeadBits) {
  // Qwen2.5-1.5B's shape (12 heads on 2 kv heads, head_dim 128) and a wider group (8 heads on
  // one kv head: two calls of at most kMaxHeadGroup), each with rows already cached.
  struct Shape {
    int64_t n_heads, n_kv_heads, head_dim;
  };
  for (const Shape shape : {Shape{12, 2, 128}, Shape{8, 1, 32}}) {
    ThreadPool pool(2);
    AttentionParams p;
    p.n_heads = shape.n_heads;
    p.n_kv_heads = shape.n_kv_heads;
    p.head_dim = shape.head_dim;
    p.pos0 = 9;
    p.scale = 1.0f / std::sqrt(static_cast<float>(shape.head_dim));
    p.round_to_f16 = true;
    const int64_t n_tokens = 5, n_ctx = p.pos0 + n_tokens, kv_dim = p.n_kv_heads * p.head_dim;
    const auto q = random_values(static_cast<size_t>(n_tokens * p.n_heads * p.head_dim), 21);
    std::vector<uint16_t> k16(static_cast<size_t>(n_ctx * kv_dim)), v16(k16.size());
    const auto k = random_values(k16.size(), 22), v = random_values(v16.size(), 23);
    for (size_t i = 0; i < k16.size(); ++i) k16[i] = f32_to_fp16(k[i]);
    for (size_t i = 0; i < v16.size(); ++i) v16[i] = f32_to_fp16(v[i]);
    for (const AttentionKernels* kernels : available_attention_kernels()) {
      if (kernels->scores_f16 == nullptr) continue;
      AttentionKernels head_by_head = *kernels;
      head_by_head.scores_f16 = nullptr;
      head_by_head.weighted_sum_f16 = nullptr;
      std::vector<float> grouped(q.size()), single(q.size(), 1.0f);
      const KvLayerView view{k16.data(), v16.data(), true};
      causal_attention_with(*kernels, q.data(), n_tokens, view, p, grouped.data(), pool);
      causal_attention_with(head_by_head, q.data(), n_tokens, view, p, single.data(), pool);
      for (size_t i = 0; i < q.size(); ++i) {
        ASSERT_EQ(grouped[i], single[i]) << kernels->name << " heads " << p.n_heads << " at " << i;
      }
    }
  }
}

TEST(AttentionKernels, RoundToF16MatchesThePortableConversionBitForBit) {
  // About a million float bit patterns spread over the whole range (normal, subnormal and
  // overflowing halves, infinities), plus exact ties, which round to even.
  std::vector<float> x;
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 4099)
    x.push_back(f32_from_bits(static_cast<uint32_t>(bits)));
  for (const float tie : {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, -65504.0f,
                          2.9802322e-08f, 8.940697e-08f, -0.0f, 0.0f}) {
    x.push_back(tie);
  }
  x.push_back(std::numeric_limits<float>::infinity());
  x.push_back(-std::numeric_limits<float>::infinity());
  for (const AttentionKernels* kernels : available_attention_kernels()) {
    if (kernels->round_to_f16 == nullptr) continue;
    std::vector<float> got(x.size());
    kernels->round_to_f16(x.data(), static_cast<int64_t>(x.size()), got.data());
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = fp16_to_f32(f32_to_fp16(x[i]));
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got[i])) << kernels->name << " " << x[i];
      } else {
        ASSERT_EQ(bits_from_f32(got[i]), bits_from_f32(want)) << kernels->name << " " << x[i];
      }
    }
  }
}

TEST(AttentionKernels, EveryTableAgreesWithDoubleArithmetic) {
  for (int64_t n : {1, 7, 8, 16, 37, 128}) {
    const auto x = random_values(static_cast<size_t>(n), 10);
    const auto y = random_values(static_cast<size_t>(n), 11);
    std::vector<uint16_t> y16(y.size());
    for (size_t i = 0; i < y.size(); ++i) y16[i] = f32_to_fp16(y[i]);
    double want_dot = 0;
    std::vector<float> want_axpy(x);
    for (int64_t i = 0; i < n; ++i) {
      want_dot += double(x[i]) * fp16_to_f32(y16[i]);
      want_axpy[i] += 0.75f * fp16_to_f32(y16[i]);
    }
    for (const AttentionKernels* kernels : available_attention_kernels()) {
      EXPECT_NEAR(kernels->dot_f16(x.data(), y16.data(), n), want_dot, 1e-4) << kernels->name << n;
      std::vector<float> acc(x);
      kernels->axpy_f16(0.75f, y16.data(), acc.data(), n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(acc[i], want_axpy[i], 1e-6) << kernels->name;
    }
  }
}

TEST(CausalAttention, FirstPositionReturnsItsOwnValue) {
  ThreadPool pool(1);
  AttentionParams p;
  p.n_heads = 1;
  p.n_kv_heads = 1;
  p.head_dim = 2;
  p.round_to_f16 = false;
  const std::vector<float> q = {1, 1}, k = {5, -3}, v = {0.25f, -7};
  std::vector<float> out(2);
  causal_attention(q.data(), 1, KvLayerView{k.data(), v.data(), false}, p, out.data(), pool);
  EXPECT_FLOAT_EQ(out[0], 0.25f);
  EXPECT_FLOAT_EQ(out[1], -7.0f);
}

}  // namespace
}  // namespace cmdai::cpu
