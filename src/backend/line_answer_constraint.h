// Constrained decoding for answers that are lines of shell text (the command, then optionally an
// explanation line): only tokens that keep each line a clean line may be sampled (no control
// characters, a newline only at a token's end), the command line must start with real text (not
// blank, not a comment, not a code fence, no end-of-generation before it), and the last allowed
// token must end the current line. The answer then always parses, even from a model with random
// weights.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "tokenizer/tokenizer.h"

namespace cmdai {

class LineAnswerConstraint {
 public:
  // Classifies every token once (~15 ms for a 152k vocab on one thread), split over `pool`'s
  // threads when given: it runs before a request's first token.
  explicit LineAnswerConstraint(const tokenizer::Tokenizer& tokenizer, ThreadPool* pool = nullptr);

  // The classification as bytes for a cache file, and back: nullopt unless `bytes` came from
  // to_bytes() of a vocab of `vocab_size` tokens, intact (magic, size, known flags, checksum).
  std::vector<uint8_t> to_bytes() const;
  static std::optional<LineAnswerConstraint> from_bytes(std::span<const uint8_t> bytes,
                                                        int64_t vocab_size);

  // Starts an answer of `lines` lines (>= 1).
  void reset(int lines);
  // Forbids (sets to -infinity) every token not allowed in the current state.
  void apply(std::span<float> logits, int32_t step, int32_t steps_left) const;
  // Advances the state past a sampled token.
  void observe(int32_t token);
  bool done() const { return done_; }

 private:
  enum : uint8_t {
    kValid = 1,
    kEndsLine = 2,
    kHasText = 4,
    kOpensComment = 8,
    kEndOfGeneration = 16
  };
  LineAnswerConstraint() = default;
  bool allowed(uint8_t flags, bool last_step) const;

  std::vector<uint8_t> flags_;  // per token
  int lines_ = 1;
  int lines_done_ = 0;
  bool line_has_text_ = false;
  bool done_ = false;
};

}  // namespace cmdai
