// Constrained decoding for answers that start inside a JSON string (`{"command": "`): only tokens
// that keep the string well-formed may be sampled (no control characters, no invalid escapes, no
// end-of-generation before the closing quote), and the last allowed token must close it. The
// answer then always parses, even from a model with random weights.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace cmdai {

class JsonStringConstraint {
 public:
  // Classifies every token once (a few ms for a 152k vocab).
  explicit JsonStringConstraint(const tokenizer::Tokenizer& tokenizer);

  void reset() { escaped_ = false; closed_ = false; }
  // Forbids (sets to -infinity) every token not allowed in the current state.
  void apply(std::span<float> logits, int32_t step, int32_t steps_left) const;
  // Advances the state past a sampled token.
  void observe(int32_t token);
  bool closed() const { return closed_; }

 private:
  // Per token and start state (plain, after a backslash): bit flags below.
  enum : uint8_t { kValid = 1, kCloses = 2, kEndsEscaped = 4, kClosesAtStart = 8 };
  uint8_t flags(int32_t token, bool escaped) const;

  std::vector<uint8_t> plain_;    // start state: inside the string, not after a backslash
  std::vector<uint8_t> escaped_start_;
  bool escaped_ = false;
  bool closed_ = false;
};

}  // namespace cmdai
