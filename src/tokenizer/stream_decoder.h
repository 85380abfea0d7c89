// Incremental detokenizer for generation: takes ids one at a time and hands out only complete
// UTF-8, holding a character whose bytes are split across tokens until its last byte arrives.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace cmdai::tokenizer {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder. `render_special` as in Tokenizer::decode.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(&tokenizer), render_special_(render_special) {}

  // The text completed by `id` (often empty mid-character). Always valid UTF-8: bytes that can
  // never become a character are replaced by U+FFFD.
  std::string push(int32_t id);

  // Whatever is still held, each byte replaced by U+FFFD (the stream ended mid-character).
  std::string flush();

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  bool at_start_ = true;
  std::string pending_;
};

}  // namespace cmdai::tokenizer
