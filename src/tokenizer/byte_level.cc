#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

bool stands_for_itself(uint32_t byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

struct Tables {
  std::array<uint32_t, 256> to_codepoint{};
  std::array<int16_t, 512> to_byte{};  // every mapped codepoint is below U+0144
};

const Tables& tables() {
  static const Tables built = [] {
    Tables t;
    t.to_byte.fill(-1);
    uint32_t next_extra = 0x100;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      t.to_codepoint[byte] = stands_for_itself(byte) ? byte : next_extra++;
      t.to_byte[t.to_codepoint[byte]] = static_cast<int16_t>(byte);
    }
    return t;
  }();
  return built;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t byte) { return tables().to_codepoint[byte]; }

std::optional<uint8_t> codepoint_to_byte(uint32_t codepoint) {
  if (codepoint >= 512 || tables().to_byte[codepoint] < 0) return std::nullopt;
  return static_cast<uint8_t>(tables().to_byte[codepoint]);
}

void append_byte_level_decoded(std::string_view token_text, std::string& out) {
  for (size_t pos = 0; pos < token_text.size();) {
    // An ASCII character decodes to itself: '!'..'~' stand for themselves, and the others are not
    // in the byte-level alphabet, so they pass through unchanged. Most tokens are all ASCII.
    size_t ascii_end = pos;
    while (ascii_end < token_text.size() &&
           static_cast<unsigned char>(token_text[ascii_end]) < 0x80) {
      ++ascii_end;
    }
    if (ascii_end > pos) {
      out.append(token_text.substr(pos, ascii_end - pos));
      pos = ascii_end;
      continue;
    }
    const Utf8Char c = decode_utf8(token_text, pos);
    const std::optional<uint8_t> byte = codepoint_to_byte(c.codepoint);
    if (byte) {
      out.push_back(static_cast<char>(*byte));
    } else {
      out.append(token_text.substr(pos, c.size_bytes));
    }
    pos += c.size_bytes;
  }
}

}  // namespace cmdai::tokenizer
