// GPT-2's byte-level alphabet: every byte maps to one printable codepoint, so byte-level BPE
// vocabularies store arbitrary bytes as ordinary text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cmdai::tokenizer {

// The codepoint that stands for `byte`: printable Latin-1 bytes stand for themselves, the other 68
// bytes take U+0100.. in byte order.
uint32_t byte_to_codepoint(uint8_t byte);
std::optional<uint8_t> codepoint_to_byte(uint32_t codepoint);

// Turns a token's text back into bytes; characters outside the alphabet are kept as UTF-8.
void append_byte_level_decoded(std::string_view token_text, std::string& out);

}  // namespace cmdai::tokenizer
