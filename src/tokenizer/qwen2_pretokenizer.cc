#include "tokenizer/qwen2_pretokenizer.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

// One decoded character with the facts the pattern asks about.
struct Char {
  uint32_t codepoint;
  uint32_t offset;  // byte offset in the text
  uint8_t flags;
};

class Scanner {
 public:
  explicit Scanner(std::string_view text) {
    chars_.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
      const Utf8Char c = decode_utf8(text, pos);
      const uint8_t flags =
          c.codepoint < 0x80 ? ascii_flags(c.codepoint) : codepoint_flags(c.codepoint);
      chars_.push_back({c.codepoint, static_cast<uint32_t>(pos), flags});
      pos += c.size_bytes;
    }
    size_ = chars_.size();
    chars_.push_back({0, static_cast<uint32_t>(text.size()), 0});  // sentinel: end offset
  }

  size_t size() const { return size_; }
  uint32_t offset(size_t i) const { return chars_[i].offset; }

  // Index one past the piece that starts at character `i` (always > i).
  size_t match(size_t i) const {
    if (size_t end = match_contraction(i)) return end;
    if (size_t end = match_letters(i)) return end;
    if (is_number(i)) return i + 1;
    if (size_t end = match_symbols(i)) return end;
    return match_whitespace(i);
  }

 private:
  static uint8_t ascii_flags(uint32_t c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return kLetter;
    if (c >= '0' && c <= '9') return kNumber;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return kWhitespace;
    return 0;
  }

  bool in_range(size_t i) const { return i < size_; }
  bool is_letter(size_t i) const { return in_range(i) && (chars_[i].flags & kLetter); }
  bool is_number(size_t i) const { return in_range(i) && (chars_[i].flags & kNumber); }
  bool is_space(size_t i) const { return in_range(i) && (chars_[i].flags & kWhitespace); }
  bool is_newline(size_t i) const {
    return in_range(i) && (chars_[i].codepoint == '\r' || chars_[i].codepoint == '\n');
  }
  // [^\s\p{L}\p{N}]
  bool is_symbol(size_t i) const { return in_range(i) && chars_[i].flags == 0; }
  uint32_t lower_ascii(size_t i) const {
    if (!in_range(i)) return 0;
    const uint32_t c = chars_[i].codepoint;
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  }

  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  size_t match_contraction(size_t i) const {
    if (chars_[i].codepoint != '\'') return 0;
    const uint32_t first = lower_ascii(i + 1);
    const uint32_t second = lower_ascii(i + 2);
    if (first == 's' || first == 't' || first == 'm' || first == 'd') return i + 2;
    if ((first == 'r' || first == 'v') && second == 'e') return i + 3;
    if (first == 'l' && second == 'l') return i + 3;
    return 0;
  }

  // [^\r\n\p{L}\p{N}]?\p{L}+
  size_t match_letters(size_t i) const {
    size_t j = i;
    const bool prefix = !is_newline(i) && !is_letter(i) && !is_number(i);
    if (prefix && is_letter(i + 1)) {
      j = i + 1;
    } else if (!is_letter(i)) {
      return 0;
    }
    while (is_letter(j)) ++j;
    return j;
  }

  // " ?[^\s\p{L}\p{N}]+[\r\n]*"
  size_t match_symbols(size_t i) const {
    size_t j = i;
    if (chars_[i].codepoint == ' ' && is_symbol(i + 1)) j = i + 1;
    if (!is_symbol(j)) return 0;
    while (is_symbol(j)) ++j;
    while (is_newline(j)) ++j;
    return j;
  }

  // \s*[\r\n]+ | \s+(?!\S) | \s+ ; every other class was tried first, so chars_[i] is whitespace.
  size_t match_whitespace(size_t i) const {
    size_t end = i;
    size_t last_newline = 0;
    bool has_newline = false;
    while (is_space(end)) {
      if (is_newline(end)) {
        last_newline = end;
        has_newline = true;
      }
      ++end;
    }
    if (end == i) return i + 1;  // unreachable for valid classes; keeps the scan advancing
    if (has_newline) return last_newline + 1;
    if (end == size_ || end - i == 1) return end;
    return end - 1;  // leave one space to lead the next word
  }

  std::vector<Char> chars_;
  size_t size_ = 0;
};

}  // namespace

void qwen2_pretokenize(std::string_view text, std::vector<std::string_view>& pieces) {
  const Scanner scanner(text);
  for (size_t i = 0; i < scanner.size();) {
    const size_t end = scanner.match(i);
    pieces.push_back(text.substr(scanner.offset(i), scanner.offset(end) - scanner.offset(i)));
    i = end;
  }
}

}  // namespace cmdai::tokenizer
