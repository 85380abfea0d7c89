#include "generate/response_parser.h"

#include <nlohmann/json.hpp>

namespace cmdai {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0 && c >= 0xc2) n = 2;
  else if ((c & 0xf0) == 0xe0) n = 3;
  else if ((c & 0xf8) == 0xf0 && c <= 0xf4) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

// Skips an escape sequence starting at s[i] == ESC; returns the index after it.
size_t skip_escape(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j >= s.size()) return j;
  if (s[j] == '[') {  // CSI: parameters and intermediates, then one final byte 0x40-0x7e
    ++j;
    while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7e)) ++j;
    return j < s.size() ? j + 1 : j;
  }
  if (s[j] == ']' || s[j] == 'P' || s[j] == '_' || s[j] == '^') {  // OSC/DCS/APC/PM: until BEL or ST
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

size_t json_string_end(std::string_view s) {
  bool escaped = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (escaped) {
      escaped = false;
    } else if (s[i] == '\\') {
      escaped = true;
    } else if (s[i] == '"') {
      return i;
    }
  }
  return std::string_view::npos;
}

bool answer_complete(std::string_view continuation, bool want_explanation) {
  const size_t end = json_string_end(continuation);
  if (end == std::string_view::npos) return false;
  if (!want_explanation) return true;
  return continuation.find('}', end) != std::string_view::npos;
}

Result<ParsedAnswer> parse_answer(std::string_view continuation) {
  const size_t end = json_string_end(continuation);
  if (end == std::string_view::npos) {
    return make_error(ErrorCode::kGenerationFailed,
                      "the model's answer stopped inside the command (token limit?): '{}'",
                      shorten(continuation));
  }
  const auto command = nlohmann::json::parse(
      "\"" + std::string(continuation.substr(0, end)) + "\"", nullptr, /*allow_exceptions=*/false);
  if (command.is_discarded() || !command.is_string()) {
    return make_error(ErrorCode::kGenerationFailed, "the model's command is not a valid JSON string: '{}'",
                      shorten(continuation.substr(0, end)));
  }
  ParsedAnswer answer;
  answer.command = trim(strip_control_and_escapes(command.get<std::string>()));
  if (answer.command.empty()) {
    return make_error(ErrorCode::kGenerationFailed, "the model answered with an empty command");
  }
  // The explanation is optional: take it when the rest of the object parses.
  const std::string full = std::string(kAnswerPrefix) + std::string(continuation);
  const size_t close = full.rfind('}');
  if (close != std::string::npos) {
    const auto object = nlohmann::json::parse(full.substr(0, close + 1), nullptr, false);
    if (object.is_object()) {
      if (auto it = object.find("explanation"); it != object.end() && it->is_string()) {
        answer.explanation = trim(strip_control_and_escapes(it->get<std::string>()));
      }
    }
  }
  return answer;
}

}  // namespace cmdai
