#include "tokenizer/unicode.h"

#include <algorithm>

namespace cmdai::tokenizer {

uint8_t codepoint_flags(uint32_t codepoint) {
  const CodepointRange* begin = kCodepointRanges;
  const CodepointRange* end = kCodepointRanges + kCodepointRangeCount;
  const CodepointRange* it = std::upper_bound(
      begin, end, codepoint, [](uint32_t cp, const CodepointRange& r) { return cp < r.first; });
  if (it == begin) return 0;
  --it;
  return codepoint <= it->last ? it->flags : 0;
}

size_t utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation bytes and the overlong leads C0/C1
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

Utf8Char decode_utf8(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(pos);
  const size_t length = utf8_sequence_length(lead);
  if (length == 1) return {lead, 1};
  if (length == 0 || pos + length > text.size()) return {kInvalidCodepoint, 1};
  uint32_t codepoint = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    const uint8_t next = byte(pos + i);
    if ((next & 0xC0) != 0x80) return {kInvalidCodepoint, 1};
    codepoint = (codepoint << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  const bool overlong = codepoint < kMinimum[length];
  const bool surrogate = codepoint >= 0xD800 && codepoint <= 0xDFFF;
  if (overlong || surrogate || codepoint > 0x10FFFF) return {kInvalidCodepoint, 1};
  return {codepoint, static_cast<uint32_t>(length)};
}

void append_utf8(uint32_t codepoint, std::string& out) {
  if (codepoint < 0x80) {
    out.push_back(static_cast<char>(codepoint));
  } else if (codepoint < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (codepoint >> 6)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  } else if (codepoint < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (codepoint >> 12)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (codepoint >> 18)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  }
}

}  // namespace cmdai::tokenizer
