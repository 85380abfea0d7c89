// Qwen2's pre-tokenizer: splits text into the pieces that BPE merges never cross. It is the regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// implemented as a hand-written scanner (one digit per piece, unlike GPT-2 and Llama 3).
#pragma once

#include <string_view>
#include <vector>

namespace cmdai::tokenizer {

// Appends the pieces of `text` to `pieces`; they are consecutive and cover every byte. Malformed
// UTF-8 bytes count as symbols (neither letter, number nor whitespace).
void qwen2_pretokenize(std::string_view text, std::vector<std::string_view>& pieces);

}  // namespace cmdai::tokenizer
