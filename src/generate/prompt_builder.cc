#include "generate/prompt_builder.h"

#include <sys/utsname.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "generate/response_parser.h"
#include "tokenizer/chat_template.h"

namespace cmdai {

std::string system_prompt(const std::string& shell, const std::string& os) {
  // Every token here is paid once per model (then cached), but kept short all the same.
  return fmt::format(
      "You turn a request into one {} command for {}. Use flags that exist on that system. "
      "Prefer safe, read-only commands. Answer with JSON only: "
      "{{\"command\": \"...\", \"explanation\": \"one short sentence\"}}",
      shell, os);
}

BuiltPrompt build_prompt(const GenerationRequest& request) {
  const std::vector<tokenizer::ChatMessage> system = {{"system", system_prompt(request.shell, request.os)}};
  const std::string system_text = tokenizer::render_chatml(system, /*add_generation_prompt=*/false);
  const std::vector<tokenizer::ChatMessage> messages = {
      system[0],
      {"user", fmt::format("{}\n(current directory: {})", request.text, request.cwd)}};
  BuiltPrompt prompt;
  prompt.text = tokenizer::render_chatml(messages, /*add_generation_prompt=*/true) + std::string(kAnswerPrefix);
  // The system turn and the opening of the user turn are the same for every request: only the
  // request, the directory and the answer's opening are prefilled per request.
  prompt.cacheable_prefix_bytes = system_text.size() + std::string_view("<|im_start|>user\n").size();
  return prompt;
}

std::string describe_host_os() {
  struct utsname name {};
  if (uname(&name) != 0) return "Linux (GNU coreutils)";
  const std::string sys = name.sysname;
  if (sys == "Linux") return "Linux (GNU coreutils)";
  if (sys == "Darwin") return "macOS (BSD userland)";
  if (sys.find("BSD") != std::string::npos) return sys + " (BSD userland)";
  return sys;
}

std::string detect_shell() {
  const char* shell = std::getenv("SHELL");
  if (shell == nullptr || *shell == '\0') return "bash";
  return std::filesystem::path(shell).filename().string();
}

}  // namespace cmdai
