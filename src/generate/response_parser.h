// Turns the model's answer into exactly one command (and an explanation), or an error.
// The prompt (prompt_builder.h) ends where the command line starts; the model's continuation is
// untrusted text, so it is parsed strictly and cleaned of control characters and terminal escapes.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cmdai {

struct ParsedAnswer {
  std::string command;
};

// `continuation` is what the model generated after the prompt: the command line. Errors are
// kGenerationFailed and say what was wrong, quoting (a cleaned, shortened copy of) the answer.
Result<ParsedAnswer> parse_answer(std::string_view continuation);

// True once the continuation holds a whole line: the generator stops decoding there.
bool answer_complete(std::string_view continuation);

// The explanation the model wrote after an explaining prompt's `# why:` (its first line, cleaned
// and trimmed; empty when it wrote nothing usable).
std::string parse_explanation(std::string_view continuation);

// Removes ANSI/VT escape sequences (CSI, OSC/DCS strings, two-character escapes) and C0/C1 control
// characters except tab and newline (a newline separates commands, which the safety check sees).
// Returns valid UTF-8: invalid bytes are dropped.
std::string strip_control_and_escapes(std::string_view text);

}  // namespace cmdai
