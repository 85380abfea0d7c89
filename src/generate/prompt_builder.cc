#include "generate/prompt_builder.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "tokenizer/chat_template.h"

namespace cmdai {
namespace {

struct Example {
  const char* request;
  const char* command;
  const char* why;
};

// Worked examples teach the answer's shape (one line, no fences, no prose) far better than rules
// do for a small model; they sit in the cached head, so they cost nothing per request.
constexpr Example kExamples[] = {
    {"list all files here, including hidden ones", "ls -la",
     "long listing of every entry, hidden ones too"},
    {"how much space does this folder use", "du -sh .",
     "total disk usage of the current directory"},
    {"find python files changed in the last day", "find . -name '*.py' -mtime -1",
     "searches below here for .py files modified within 24 hours"},
};

// A request or directory goes on one comment line: newlines and other control characters would
// end the comment early (and let a request write the answer's lines itself).
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text)
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  const size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

}  // namespace

std::string system_prompt(const std::string& shell, const std::string& os) {
  return fmt::format(
      "You turn requests into {} commands for {}. Use flags that exist on that system. Prefer "
      "safe, read-only commands; never add sudo unless asked.",
      shell, os);
}

namespace {

// The head, directory line and request comment; `explaining` picks the head whose instruction and
// examples carry a `# why:` line after each command.
BuiltPrompt transcript(const GenerationRequest& request, bool explaining) {
  const std::vector<tokenizer::ChatMessage> turns = {
      {"system", system_prompt(request.shell, request.os)},
      {"user", fmt::format("Answer each request comment with one line of {}{}.", request.shell,
                           explaining ? ", then a '# why:' line explaining it" : "")}};
  std::string head = tokenizer::render_chatml(turns, /*add_generation_prompt=*/true);
  head += fmt::format("```{}\n", request.shell);
  for (const Example& e : kExamples) {
    head += fmt::format("# {}\n{}\n", e.request, e.command);
    if (explaining) head += fmt::format("{} {}\n", kExplanationMarker, e.why);
  }
  BuiltPrompt prompt;
  prompt.shared_prefix_bytes = head.size();
  // The request comment's '#' is the same for every request: it ends the cached part (a token of
  // its own either way, since the request's first word carries the space before it).
  prompt.text = head + fmt::format("# working directory: {}\n#", one_line(request.cwd));
  prompt.cacheable_prefix_bytes = prompt.text.size();
  prompt.text += fmt::format(" {}\n", one_line(request.text));
  return prompt;
}

}  // namespace

BuiltPrompt build_prompt(const GenerationRequest& request) {
  return transcript(request, /*explaining=*/false);
}

BuiltPrompt build_explanation_prompt(const GenerationRequest& request, std::string_view command) {
  BuiltPrompt prompt = transcript(request, /*explaining=*/true);
  prompt.text += fmt::format("{}\n{}", one_line(command), kExplanationMarker);
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
