#include "backend/json_string_constraint.h"

#include <limits>
#include <string>

namespace cmdai {
namespace {

// Escapes a command needs; \u, \b, \f and \r are refused so no control character can hide.
bool allowed_escape(char c) { return c == '"' || c == '\\' || c == '/' || c == 'n' || c == 't'; }

uint8_t classify(const std::string& text, bool escaped, bool renders) {
  constexpr uint8_t kValid = 1, kCloses = 2, kEndsEscaped = 4, kClosesAtStart = 8;
  if (!renders || text.empty()) return 0;  // control and end-of-generation tokens
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (escaped) {
      if (!allowed_escape(static_cast<char>(c))) return 0;
      escaped = false;
      continue;
    }
    if (c == '"') return kValid | kCloses | (i == 0 ? kClosesAtStart : 0);
    if (c < 0x20 || c == 0x7f) return 0;
    if (c == '\\') escaped = true;
  }
  return kValid | (escaped ? kEndsEscaped : 0);
}

}  // namespace

JsonStringConstraint::JsonStringConstraint(const tokenizer::Tokenizer& tokenizer) {
  const int64_t n = tokenizer.vocab_size();
  plain_.resize(n);
  escaped_start_.resize(n);
  std::string text;
  for (int64_t id = 0; id < n; ++id) {
    text.clear();
    const bool renders = tokenizer.append_piece(static_cast<int32_t>(id), /*render_special=*/false,
                                                /*at_start=*/false, text);
    plain_[id] = classify(text, false, renders);
    escaped_start_[id] = classify(text, true, renders);
  }
}

uint8_t JsonStringConstraint::flags(int32_t token, bool escaped) const {
  const auto& table = escaped ? escaped_start_ : plain_;
  return token >= 0 && static_cast<size_t>(token) < table.size() ? table[token] : 0;
}

void JsonStringConstraint::apply(std::span<float> logits, int32_t step, int32_t steps_left) const {
  if (closed_) return;
  const auto& table = escaped_ ? escaped_start_ : plain_;
  const bool must_close = steps_left <= 1;
  const size_t n = std::min(logits.size(), table.size());
  for (size_t id = 0; id < n; ++id) {
    const uint8_t f = table[id];
    bool ok = (f & kValid) != 0;
    if (ok && must_close) ok = (f & kCloses) != 0;
    if (ok && step == 0 && (f & kClosesAtStart)) ok = false;  // an empty command is no answer
    if (!ok) logits[id] = -std::numeric_limits<float>::infinity();
  }
  for (size_t id = n; id < logits.size(); ++id) logits[id] = -std::numeric_limits<float>::infinity();
}

void JsonStringConstraint::observe(int32_t token) {
  if (closed_) return;
  const uint8_t f = flags(token, escaped_);
  if (f & kCloses) closed_ = true;
  escaped_ = (f & kEndsEscaped) != 0;
}

}  // namespace cmdai
