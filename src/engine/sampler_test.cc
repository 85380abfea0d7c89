#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace cmdai::engine {
namespace {

std::vector<int32_t> ids_of(const std::vector<Candidate>& candidates) {
  std::vector<int32_t> ids;
  for (const Candidate& c : candidates) ids.push_back(c.id);
  return ids;
}

TEST(Rng, SameSeedGivesSameStreamAndDifferentSeedsDiffer) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
  Rng u(1);
  for (int i = 0; i < 1000; ++i) {
    const double v = u.uniform();
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
  }
}

TEST(Sampler, GreedyTakesArgmaxAndBreaksTiesToTheLowerId) {
  Sampler sampler(SamplerConfig{});
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(sampler.sample(logits, {}), 1);
  EXPECT_EQ(argmax(logits), 1);
}

TEST(Argmax, FindsTheFirstMaximumAtEveryPositionAndLength) {
  for (size_t n = 1; n <= 11; ++n) {
    for (size_t at = 0; at < n; ++at) {
      std::vector<float> logits(n, -1.0f);
      logits[at] = 2.0f;
      EXPECT_EQ(argmax(logits), static_cast<int32_t>(at)) << n << " " << at;
      for (size_t later = at + 1; later < n; ++later) {
        std::vector<float> tied = logits;
        tied[later] = 2.0f;
        EXPECT_EQ(argmax(tied), static_cast<int32_t>(at))
            << "tie " << n << " " << at << " " << later;
      }
    }
  }
  EXPECT_EQ(argmax(std::vector<float>(5, -std::numeric_limits<float>::infinity())), 0);
}

TEST(Sampler, SameSeedAndSettingsGiveTheSameTokens) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_k = 5;
  config.seed = 1234;
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i % 7) * 0.3f;
  Sampler a(config), b(config);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 40; ++i) {
    first.push_back(a.sample(logits, {}));
    second.push_back(b.sample(logits, {}));
  }
  EXPECT_EQ(first, second);
  // The draws spread over several tokens (the distribution is really sampled), all among the
  // five top-k keeps: seven ids tie at the largest logit, 1.8, and the lower ids win ties.
  const std::set<int32_t> distinct(first.begin(), first.end());
  EXPECT_GE(distinct.size(), 3u);
  const std::set<int32_t> top5 = {6, 13, 20, 27, 34};
  for (int32_t id : distinct) EXPECT_TRUE(top5.count(id)) << "id " << id;
  a.reset();
  EXPECT_EQ(a.sample(logits, {}), first[0]);
}

TEST(Sampler, TopKKeepsTheKHighest) {
  std::vector<Candidate> sorted = {{3, 5.0f}, {1, 4.0f}, {0, 3.0f}, {2, 1.0f}};
  Sampler::keep_top_k(sorted, 2);
  EXPECT_EQ(ids_of(sorted), (std::vector<int32_t>{3, 1}));
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities proportional to e^logit: with logits ln(5), ln(3), ln(2): 0.5, 0.3, 0.2.
  const std::vector<Candidate> base = {
      {4, std::log(5.0f)}, {9, std::log(3.0f)}, {2, std::log(2.0f)}};
  struct Case {
    float p;
    std::vector<int32_t> kept;
  };
  for (const Case& c : {Case{0.4f, {4}}, Case{0.5f, {4}}, Case{0.7f, {4, 9}},
                        Case{0.81f, {4, 9, 2}}, Case{1.0f, {4, 9, 2}}}) {
    std::vector<Candidate> sorted = base;
    Sampler::keep_top_p(sorted, c.p);
    EXPECT_EQ(ids_of(sorted), c.kept) << "p=" << c.p;
  }
}

TEST(Sampler, TopPKeepsTheTokenWhoseCumulativeProbabilityEqualsPExactly) {
  // Equal logits make every weight exp(0) = 1 exactly, so the cumulative probabilities 0.25, 0.5,
  // 0.75 are exact and p lands on them without rounding: "reaches p" includes equality.
  const std::vector<Candidate> base = {{0, 1.0f}, {1, 1.0f}, {2, 1.0f}, {3, 1.0f}};
  struct Case {
    float p;
    std::vector<int32_t> kept;
  };
  for (const Case& c : {Case{0.25f, {0}}, Case{0.5f, {0, 1}}, Case{0.75f, {0, 1, 2}}}) {
    std::vector<Candidate> sorted = base;
    Sampler::keep_top_p(sorted, c.p);
    EXPECT_EQ(ids_of(sorted), c.kept) << "p=" << c.p;
  }
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  // Relative probabilities 1, 0.5, 0.1.
  const std::vector<Candidate> base = {{0, 0.0f}, {1, std::log(0.5f)}, {2, std::log(0.1f)}};
  struct Case {
    float min_p;
    std::vector<int32_t> kept;
  };
  for (const Case& c :
       {Case{0.0f, {0, 1, 2}}, Case{0.05f, {0, 1, 2}}, Case{0.2f, {0, 1}}, Case{0.6f, {0}}}) {
    std::vector<Candidate> sorted = base;
    Sampler::keep_min_p(sorted, c.min_p);
    EXPECT_EQ(ids_of(sorted), c.kept) << "min_p=" << c.min_p;
  }
}

// The ids that `draws` calls of sample() return, with how often each came.
std::map<int32_t, int> draw_counts(const SamplerConfig& config, const std::vector<float>& logits,
                                   int draws) {
  Sampler sampler(config);
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits, {})];
  return counts;
}

std::set<int32_t> ids_in(const std::map<int32_t, int>& counts) {
  std::set<int32_t> ids;
  for (const auto& [id, count] : counts) ids.insert(id);
  return ids;
}

// The filters through sample() itself: every id a filter keeps comes up in 2000 draws and no
// other does. Each dropped id would otherwise come up with probability >= 2% per draw, so a
// chain that skips a filter fails here with certainty (the draws are seeded).
TEST(SamplerChain, DrawsOnlyTheTopKTokens) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_k = 3;
  const std::vector<float> logits = {2.0f, 3.0f, 2.5f, 2.9f, 2.2f, 2.1f, 2.8f, 2.4f};
  EXPECT_EQ(ids_in(draw_counts(config, logits, 2000)), (std::set<int32_t>{1, 3, 6}));
}

TEST(SamplerChain, DrawsOnlyTheTopPNucleusWithTheTokenReachingPExactly) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_p = 0.5f;
  // Eight equal logits: each probability is 1/8 exactly, so ids 0-3 (lower ids first on ties)
  // reach 0.5 exactly; a strict "> p" would keep id 4 too.
  const std::vector<float> logits(8, 0.5f);
  EXPECT_EQ(ids_in(draw_counts(config, logits, 2000)), (std::set<int32_t>{0, 1, 2, 3}));
}

TEST(SamplerChain, DrawsOnlyTokensAboveMinP) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.min_p = 0.2f;
  // Relative probabilities 1 (ids 0, 5), 0.5 (ids 2, 7) and 0.1 (the rest, dropped by min-p).
  const float half = std::log(0.5f), tenth = std::log(0.1f);
  const std::vector<float> logits = {0.0f, tenth, half, tenth, tenth, 0.0f, tenth, half, tenth};
  EXPECT_EQ(ids_in(draw_counts(config, logits, 2000)), (std::set<int32_t>{0, 2, 5, 7}));
}

TEST(SamplerChain, JudgesTopPOnWhatTopKKept) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.top_k = 6;
  config.top_p = 0.75f;
  // Top-k drops ids 6 and 7, leaving six equal weights of 1/6: top-p keeps five (5/6 >= 0.75 >
  // 4/6). Judged on all eight, top-p would keep six.
  const std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -0.1f, -0.2f};
  EXPECT_EQ(ids_in(draw_counts(config, logits, 2000)), (std::set<int32_t>{0, 1, 2, 3, 4}));
}

TEST(Sampler, RepeatPenaltyShrinksPositiveAndGrowsNegativeLogitsOfSeenTokens) {
  std::vector<Candidate> c = {{0, 2.0f}, {1, -2.0f}, {2, 2.0f}};
  const std::vector<int32_t> window = {0, 1, 1};
  Sampler::apply_repeat_penalty(c, window, 2.0f);
  EXPECT_FLOAT_EQ(c[0].logit, 1.0f);
  EXPECT_FLOAT_EQ(c[1].logit, -4.0f);
  EXPECT_FLOAT_EQ(c[2].logit, 2.0f);  // not in the window
}

TEST(Sampler, RepeatPenaltyOnlyLooksAtTheWindow) {
  SamplerConfig config;
  config.repeat_penalty = 4.0f;
  config.repeat_window = 2;
  Sampler sampler(config);
  const std::vector<float> logits = {3.0f, 2.0f, 1.0f};
  // Token 0 is outside the last two history entries, so it keeps winning.
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 2, 2}), 0);
  // In the window it drops to 0.75, below token 1.
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{2, 0}), 1);
}

TEST(Sampler, LowTemperatureConcentratesOnTheBestToken) {
  SamplerConfig config;
  config.temperature = 0.01f;
  Sampler sampler(config);
  const std::vector<float> logits = {1.0f, 1.5f, 0.9f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.sample(logits, {}), 1);
}

TEST(Sampler, SamplesRoughlyInProportionToProbability) {
  SamplerConfig config;
  config.temperature = 1.0f;
  config.seed = 99;
  Sampler sampler(config);
  const std::vector<float> logits = {std::log(0.75f), std::log(0.25f)};
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) ++counts[sampler.sample(logits, {})];
  EXPECT_NEAR(counts[0] / 4000.0, 0.75, 0.03);
}

}  // namespace
}  // namespace cmdai::engine
