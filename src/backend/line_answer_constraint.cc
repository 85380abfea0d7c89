#include "backend/line_answer_constraint.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "base/fnv1a.h"

namespace cmdai {
namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t'; }

// Cache file layout: magic (the last byte is the format version: bump it when the flags'
// meaning changes), token count (u32), one flag byte per token, FNV-1a of the flags (u64).
constexpr char kMagic[8] = {'C', 'M', 'D', 'A', 'I', 'L', 'C', '1'};
constexpr size_t kHeaderBytes = sizeof kMagic + sizeof(uint32_t);

uint64_t checksum(std::span<const uint8_t> bytes) { return fnv1a(bytes.data(), bytes.size()); }

}  // namespace

LineAnswerConstraint::LineAnswerConstraint(const tokenizer::Tokenizer& tokenizer,
                                           ThreadPool* pool) {
  const int64_t n = tokenizer.vocab_size();
  flags_.assign(static_cast<size_t>(n), 0);
  const auto classify = [&](int64_t begin, int64_t end) {
    std::string text;
    for (int64_t id = begin; id < end; ++id) {
      text.clear();
      const bool renders =
          tokenizer.append_piece(static_cast<int32_t>(id), /*render_special=*/false,
                                 /*at_start=*/false, text);
      if (!renders || text.empty()) continue;  // control tokens; end-of-generation ones below
      uint8_t f = kValid;
      for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n' && i + 1 == text.size()) {
          f |= kEndsLine;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
          f = 0;  // a control character, or a newline with more text after it
          break;
        } else if (!is_space(c)) {
          if (!(f & kHasText) && (c == '#' || c == '`')) f |= kOpensComment;
          f |= kHasText;
        }
      }
      flags_[static_cast<size_t>(id)] = f;
    }
  };
  if (pool != nullptr) {
    pool->parallel_for(n, classify, /*grain=*/4096);
  } else {
    classify(0, n);
  }
  for (const int32_t id : tokenizer.vocab().eog_ids()) {
    if (id >= 0 && id < n) flags_[static_cast<size_t>(id)] = kEndOfGeneration;
  }
}

std::vector<uint8_t> LineAnswerConstraint::to_bytes() const {
  std::vector<uint8_t> out(kHeaderBytes + flags_.size() + sizeof(uint64_t));
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  const uint32_t n = static_cast<uint32_t>(flags_.size());
  std::memcpy(out.data() + sizeof kMagic, &n, sizeof n);
  std::memcpy(out.data() + kHeaderBytes, flags_.data(), flags_.size());
  const uint64_t sum = checksum(flags_);
  std::memcpy(out.data() + kHeaderBytes + flags_.size(), &sum, sizeof sum);
  return out;
}

std::optional<LineAnswerConstraint> LineAnswerConstraint::from_bytes(std::span<const uint8_t> bytes,
                                                                     int64_t vocab_size) {
  if (vocab_size <= 0 || vocab_size > UINT32_MAX) return std::nullopt;
  const size_t n = static_cast<size_t>(vocab_size);
  if (bytes.size() != kHeaderBytes + n + sizeof(uint64_t)) return std::nullopt;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  uint32_t stored_n = 0;
  std::memcpy(&stored_n, bytes.data() + sizeof kMagic, sizeof stored_n);
  if (stored_n != n) return std::nullopt;
  const std::span<const uint8_t> flags = bytes.subspan(kHeaderBytes, n);
  uint64_t stored_sum = 0;
  std::memcpy(&stored_sum, bytes.data() + kHeaderBytes + n, sizeof stored_sum);
  if (stored_sum != checksum(flags)) return std::nullopt;
  constexpr uint8_t kKnown = kValid | kEndsLine | kHasText | kOpensComment | kEndOfGeneration;
  for (const uint8_t f : flags) {
    if ((f & ~kKnown) != 0) return std::nullopt;
  }
  LineAnswerConstraint c;
  c.flags_.assign(flags.begin(), flags.end());
  return c;
}

void LineAnswerConstraint::reset(int lines) {
  lines_ = std::max(lines, 1);
  lines_done_ = 0;
  line_has_text_ = false;
  done_ = false;
}

bool LineAnswerConstraint::allowed(uint8_t f, bool last_step) const {
  const bool on_command_line = lines_done_ == 0;
  const bool text_before_end = line_has_text_ || (f & kHasText);
  if (f & kEndOfGeneration) return !on_command_line || line_has_text_;
  if (!(f & kValid)) return false;
  if (on_command_line && !line_has_text_ && (f & kOpensComment)) return false;
  if (on_command_line && !text_before_end) return false;  // blank start, or an empty line
  if (last_step) return (f & kEndsLine) != 0;
  return true;
}

void LineAnswerConstraint::apply(std::span<float> logits, int32_t /*step*/,
                                 int32_t steps_left) const {
  if (done_) return;
  const bool last_step = steps_left <= 1;
  const size_t n = std::min(logits.size(), flags_.size());
  for (size_t id = 0; id < n; ++id) {
    if (!allowed(flags_[id], last_step)) logits[id] = -std::numeric_limits<float>::infinity();
  }
  for (size_t id = n; id < logits.size(); ++id)
    logits[id] = -std::numeric_limits<float>::infinity();
}

void LineAnswerConstraint::observe(int32_t token) {
  if (done_) return;
  const uint8_t f = token >= 0 && static_cast<size_t>(token) < flags_.size() ? flags_[token] : 0;
  if (f & kEndOfGeneration) {
    done_ = true;
    return;
  }
  if (f & kHasText) line_has_text_ = true;
  if (f & kEndsLine) {
    line_has_text_ = false;
    if (++lines_done_ >= lines_) done_ = true;
  }
}

}  // namespace cmdai
