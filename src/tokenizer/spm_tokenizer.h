// SentencePiece-style tokenizer for "llama" vocabs: spaces become U+2581, adjacent pieces merge
// highest score first while the merged text is a token, leftovers fall back to <0xXX> byte tokens.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace cmdai::tokenizer {

class SpmTokenizer {
 public:
  // `vocab` must outlive the tokenizer.
  explicit SpmTokenizer(const Vocab& vocab);

  // Appends the tokens of `text`, read as plain text. `space_prefix` prepends one space first, as
  // SentencePiece does at the start of the text and after a special token.
  void encode(std::string_view text, bool space_prefix, std::vector<int32_t>& out) const;

 private:
  void append_fallback(std::string_view symbol, std::vector<int32_t>& out) const;

  const Vocab* vocab_;
  std::array<int32_t, 256> byte_tokens_{};  // <0xXX> tokens, -1 when missing
};

// U+2581, the SentencePiece stand-in for a space.
inline constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

}  // namespace cmdai::tokenizer
