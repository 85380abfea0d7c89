// Turns the model's answer into exactly one command (and an explanation), or an error.
// The model is made to answer inside a JSON object that begins `{"command": "`; what comes back is
// untrusted text, so it is parsed strictly and cleaned of control characters and terminal escapes.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cmdai {

// The text the assistant turn is forced to start with; the model continues from inside the string.
inline constexpr std::string_view kAnswerPrefix = "{\"command\": \"";

struct ParsedAnswer {
  std::string command;
  std::string explanation;
};

// `continuation` is what the model generated after kAnswerPrefix. Errors are kGenerationFailed and
// say what was wrong, quoting (a cleaned, shortened copy of) the answer.
Result<ParsedAnswer> parse_answer(std::string_view continuation);

// Index of the unescaped '"' that closes the JSON string `s` starts inside of, or npos.
size_t json_string_end(std::string_view s);

// True once the continuation holds the whole command string (and, if wanted, the closing brace
// after the explanation): the generator stops decoding there.
bool answer_complete(std::string_view continuation, bool want_explanation);

// Removes ANSI/VT escape sequences (CSI, OSC/DCS strings, two-character escapes) and C0/C1 control
// characters except tab and newline (a newline separates commands, which the safety check sees).
// Returns valid UTF-8: invalid bytes are dropped.
std::string strip_control_and_escapes(std::string_view text);

}  // namespace cmdai
