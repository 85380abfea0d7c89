#include "generate/response_parser.h"

#include "base/utf8.h"

namespace cmdai {
namespace {

// Skips an escape sequence starting at s[i] == ESC; returns the index after it.
size_t skip_escape(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j >= s.size()) return j;
  if (s[j] == '[') {  // CSI: parameters and intermediates, then one final byte 0x40-0x7e
    ++j;
    while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7e)) ++j;
    return j < s.size() ? j + 1 : j;
  }
  if (s[j] == ']' || s[j] == 'P' || s[j] == '_' ||
      s[j] == '^') {  // OSC/DCS/APC/PM: until BEL or ST
    ++j;
    while (j < s.size()) {
      if (s[j] == '\a') return j + 1;
      if (s[j] == '\x1b' && j + 1 < s.size() && s[j + 1] == '\\') return j + 2;
      ++j;
    }
    return j;
  }
  return j + 1;  // two-character escape
}

std::string trim(std::string text) {
  const size_t first = text.find_first_not_of(" \t\n");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\n");
  return text.substr(first, last - first + 1);
}

std::string shorten(std::string_view text) {
  std::string clean = strip_control_and_escapes(text);
  if (clean.size() > 80) clean = clean.substr(0, 77) + "...";
  return clean;
}

}  // namespace

std::string strip_control_and_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {
      i = skip_escape(text, i);
      continue;
    }
    if (c < 0x20 && c != '\t' && c != '\n') {
      ++i;
      continue;
    }
    if (c == 0x7f) {
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {  // C1 controls
      i += 2;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

bool answer_complete(std::string_view continuation) {
  return continuation.find('\n') != std::string_view::npos;
}

Result<ParsedAnswer> parse_answer(std::string_view continuation) {
  // The constrained decoder ends the line itself; an answer cut off by a cancelled or unconstrained
  // run (no newline) is taken as it stands, and the safety check sees whatever it holds.
  const std::string_view line = continuation.substr(0, continuation.find('\n'));
  ParsedAnswer answer;
  answer.command = trim(strip_control_and_escapes(line));
  if (answer.command.empty()) {
    return make_error(ErrorCode::kGenerationFailed, "the model answered with an empty command");
  }
  if (answer.command[0] == '#' || answer.command.rfind("```", 0) == 0) {
    return make_error(ErrorCode::kGenerationFailed,
                      "the model answered with a comment or fence, not a command: '{}'",
                      shorten(line));
  }
  return answer;
}

std::string parse_explanation(std::string_view continuation) {
  return trim(strip_control_and_escapes(continuation.substr(0, continuation.find('\n'))));
}

}  // namespace cmdai
