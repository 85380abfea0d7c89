#include "tokenizer/stream_decoder.h"

#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// True when bytes from `pos` to the end could still grow into one valid character.
bool is_incomplete_character(std::string_view bytes, size_t pos) {
  const size_t length = utf8_sequence_length(static_cast<uint8_t>(bytes[pos]));
  if (length < 2 || pos + length <= bytes.size()) return false;
  for (size_t i = pos + 1; i < bytes.size(); ++i) {
    if ((static_cast<uint8_t>(bytes[i]) & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

std::string StreamDecoder::push(int32_t id) {
  if (tokenizer_->append_piece(id, render_special_, at_start_, pending_)) at_start_ = false;
  std::string ready;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const Utf8Char c = decode_utf8(pending_, pos);
    if (c.codepoint != kInvalidCodepoint) {
      ready.append(pending_, pos, c.size_bytes);
    } else if (is_incomplete_character(pending_, pos)) {
      break;
    } else {
      ready.append(kReplacement);
    }
    pos += c.size_bytes;
  }
  pending_.erase(0, pos);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest;
  for (size_t i = 0; i < pending_.size(); ++i) rest.append(kReplacement);
  pending_.clear();
  return rest;
}

}  // namespace cmdai::tokenizer
