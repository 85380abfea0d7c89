// Builds the model prompt for a request: a short system prompt that depends only on the shell and
// OS (so its KV state is cached across requests) and a user turn with the directory and request.
#pragma once

#include <string>

#include "generate/command_generator.h"

namespace cmdai {

struct BuiltPrompt {
  std::string text;               // the whole ChatML prompt, ending inside the forced answer prefix
  size_t cacheable_prefix_bytes;  // system turn + user-turn opening: identical for every request
};

std::string system_prompt(const std::string& shell, const std::string& os);
BuiltPrompt build_prompt(const GenerationRequest& request);

// "Linux (GNU coreutils)", "macOS (BSD userland)", ... from uname.
std::string describe_host_os();
// The user's shell name from $SHELL ("bash" when unknown).
std::string detect_shell();

}  // namespace cmdai
