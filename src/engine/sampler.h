// Picks the next token from logits: greedy, or temperature sampling narrowed by top-k, top-p and
// min-p, after a repetition penalty. Seeded and platform-independent: same seed, same tokens.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/sampling_params.h"

namespace cmdai::engine {

using SamplerConfig = SamplingParams;

// xoshiro256** seeded through splitmix64: integer-only, so identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t state_[4];
};

struct Candidate {
  int32_t id;
  float logit;
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);

  // Chooses a token from vocab_size logits; `history` is the prompt plus generated tokens so far
  // (only its last repeat_window entries matter).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  // Restarts the random stream, e.g. before a new request with the same seed.
  void reset();

  // The steps of sample(), exposed so tests can check each filter's kept set.
  static void apply_repeat_penalty(std::vector<Candidate>& candidates,
                                   std::span<const int32_t> window, float penalty);
  static void keep_top_k(std::vector<Candidate>& sorted, int32_t k);
  // top-p and min-p judge probabilities before temperature, as llama.cpp's default chain does.
  static void keep_top_p(std::vector<Candidate>& sorted, float p);
  static void keep_min_p(std::vector<Candidate>& sorted, float min_p);

 private:
  SamplerConfig config_;
  Rng rng_;
  std::vector<Candidate> candidates_;  // reused across calls
};

// Index of the largest value, ties to the lower index.
int32_t argmax(std::span<const float> logits);

}  // namespace cmdai::engine
