// Unicode support for the tokenizers: UTF-8 decoding that covers every input byte, and the
// letter / number / whitespace classes that pre-tokenizer patterns use for \p{L}, \p{N} and \s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cmdai::tokenizer {

// Bits of CodepointRange::flags.
enum CodepointClass : uint8_t {
  kLetter = 1,      // general category L*
  kNumber = 2,      // general category N*
  kWhitespace = 4,  // the White_Space property
};

struct CodepointRange {
  uint32_t first;
  uint32_t last;
  uint8_t flags;
};

// Generated tables (unicode_tables.cc): sorted, non-overlapping; absent codepoints have no class.
extern const CodepointRange kCodepointRanges[];
extern const size_t kCodepointRangeCount;
extern const char kUnicodeVersion[];

// CodepointClass bits of `codepoint` (0 for anything else, including invalid input).
uint8_t codepoint_flags(uint32_t codepoint);

// Marks bytes that do not start a valid UTF-8 sequence.
constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFFu;

struct Utf8Char {
  uint32_t codepoint;   // kInvalidCodepoint for a malformed sequence
  uint32_t size_bytes;  // >= 1 whenever pos < text.size(), so scanning always advances
};

// Decodes the character at `pos`. Overlong forms, surrogates, values above U+10FFFF and truncated
// sequences decode as a single invalid byte.
Utf8Char decode_utf8(std::string_view text, size_t pos);

// Length that a sequence starting with `lead` claims (1-4), or 0 for a byte that cannot lead.
size_t utf8_sequence_length(uint8_t lead);

void append_utf8(uint32_t codepoint, std::string& out);

}  // namespace cmdai::tokenizer
