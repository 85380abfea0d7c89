#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cmdai::engine {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Higher logit first; equal logits keep the lower id first so results never depend on the sort.
bool before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// Unnormalized probabilities exp((logit - max) / temperature) of a sorted list, in double.
std::vector<double> weights_of(const std::vector<Candidate>& sorted, float temperature) {
  std::vector<double> w(sorted.size());
  const double max_logit = sorted.front().logit;
  for (size_t i = 0; i < sorted.size(); ++i) {
    w[i] = std::exp((static_cast<double>(sorted[i].logit) - max_logit) / temperature);
  }
  return w;
}

}  // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : state_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) return 0;
  // Four independent running maxima keep the loop free of a serial dependency; strict '>' per
  // lane plus the final lowest-index tie-break keeps "ties go to the lower id".
  constexpr size_t kLanes = 4;
  float best_value[kLanes];
  size_t best_index[kLanes];
  for (size_t lane = 0; lane < kLanes; ++lane) {
    best_value[lane] = -std::numeric_limits<float>::infinity();
    best_index[lane] = lane < logits.size() ? lane : 0;
  }
  size_t i = 0;
  for (; i + kLanes <= logits.size(); i += kLanes) {
    for (size_t lane = 0; lane < kLanes; ++lane) {
      if (logits[i + lane] > best_value[lane]) {
        best_value[lane] = logits[i + lane];
        best_index[lane] = i + lane;
      }
    }
  }
  size_t best = best_index[0];
  float value = logits[best];
  for (; i < logits.size(); ++i) {
    if (logits[i] > value) {
      value = logits[i];
      best = i;
    }
  }
  for (size_t lane = 0; lane < kLanes; ++lane) {
    const size_t index = best_index[lane];
    if (logits[index] > value || (logits[index] == value && index < best)) {
      value = logits[index];
      best = index;
    }
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplerConfig& config) : config_(config), rng_(config.seed) {}

void Sampler::reset() { rng_ = Rng(config_.seed); }

void Sampler::apply_repeat_penalty(std::vector<Candidate>& candidates,
                                   std::span<const int32_t> window, float penalty) {
  if (penalty == 1.0f || window.empty()) return;
  std::vector<int32_t> seen(window.begin(), window.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (Candidate& c : candidates) {
    if (!std::binary_search(seen.begin(), seen.end(), c.id)) continue;
    // Dividing a negative logit would raise it, so those are multiplied instead.
    c.logit = c.logit > 0 ? c.logit / penalty : c.logit * penalty;
  }
}

void Sampler::keep_top_k(std::vector<Candidate>& sorted, int32_t k) {
  if (k > 0 && static_cast<size_t>(k) < sorted.size()) sorted.resize(static_cast<size_t>(k));
}

void Sampler::keep_top_p(std::vector<Candidate>& sorted, float p) {
  if (p >= 1.0f || sorted.size() <= 1) return;
  const std::vector<double> w = weights_of(sorted, 1.0f);
  double total = 0;
  for (double x : w) total += x;
  double cumulative = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    cumulative += w[i];
    if (cumulative >= p * total) {
      sorted.resize(i + 1);
      return;
    }
  }
}

void Sampler::keep_min_p(std::vector<Candidate>& sorted, float min_p) {
  if (min_p <= 0.0f || sorted.empty()) return;
  // p_i / p_max >= min_p  <=>  logit_i >= logit_max + ln(min_p).
  const double threshold = static_cast<double>(sorted.front().logit) + std::log(min_p);
  size_t keep = 1;
  while (keep < sorted.size() && sorted[keep].logit >= threshold) ++keep;
  sorted.resize(keep);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const size_t window_size =
      std::min(history.size(), static_cast<size_t>(std::max(0, config_.repeat_window)));
  const std::span<const int32_t> window = history.subspan(history.size() - window_size);
  if (config_.temperature <= 0.0f && (config_.repeat_penalty == 1.0f || window.empty())) {
    return argmax(logits);
  }

  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_[i] = Candidate{static_cast<int32_t>(i), logits[i]};
  }
  apply_repeat_penalty(candidates_, window, config_.repeat_penalty);
  if (config_.temperature <= 0.0f) {
    return std::min_element(candidates_.begin(), candidates_.end(), before)->id;
  }

  const bool use_top_k =
      config_.top_k > 0 && static_cast<size_t>(config_.top_k) < candidates_.size();
  if (use_top_k) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + config_.top_k, candidates_.end(),
                      before);
    keep_top_k(candidates_, config_.top_k);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), before);
  }
  keep_top_p(candidates_, config_.top_p);
  keep_min_p(candidates_, config_.min_p);

  const std::vector<double> w = weights_of(candidates_, config_.temperature);
  double total = 0;
  for (double x : w) total += x;
  const double target = rng_.uniform() * total;
  double cumulative = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += w[i];
    if (target < cumulative) return candidates_[i].id;
  }
  return candidates_.back().id;
}

}  // namespace cmdai::engine
