// Builds the model prompt for a request as a shell transcript inside the assistant turn: a fixed
// head (system turn, instruction, worked examples), a `# working directory:` line, then the request
// as a comment. The model answers with the next line. Everything before the request is cacheable:
// the head is the same for every request and the directory line for every request made there, so a
// request prefills only its own words (the first-token lever of docs/PERFORMANCE.md).
#pragma once

#include <string>

#include "generate/command_generator.h"

namespace cmdai {

struct BuiltPrompt {
  std::string text;               // the whole prompt, ending where the model's line starts
  size_t shared_prefix_bytes;     // the head: identical for every request (same shell and OS)
  size_t cacheable_prefix_bytes;  // head, directory line and the request's '#'
};

// Marks the explanation line that follows a command in the explaining prompt.
inline constexpr std::string_view kExplanationMarker = "# why:";

std::string system_prompt(const std::string& shell, const std::string& os);
// The prompt for the command. `request.explain` does not change it: with or without --explain the
// model is asked the same question, so it writes the same command.
BuiltPrompt build_prompt(const GenerationRequest& request);
// The prompt for explaining `command`, the answer already chosen for `request`: a head of its own
// whose examples carry a `# why:` line, then the request, the command and `# why:`, where the model
// continues with the explanation.
BuiltPrompt build_explanation_prompt(const GenerationRequest& request, std::string_view command);

// "Linux (GNU coreutils)", "macOS (BSD userland)", ... from uname.
std::string describe_host_os();
// The user's shell name from $SHELL ("bash" when unknown).
std::string detect_shell();

}  // namespace cmdai
