#include "tokenizer/chat_template.h"

namespace cmdai::tokenizer {
namespace {

void append_turn(std::string_view role, std::string_view content, std::string& out) {
  out.append("<|im_start|>").append(role).append("\n");
  out.append(content).append("<|im_end|>\n");
}

}  // namespace

std::string render_chatml(std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string out;
  const bool leading_system = !messages.empty() && messages[0].role == "system";
  append_turn("system",
              leading_system ? std::string_view(messages[0].content) : kQwenDefaultSystemPrompt,
              out);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role == "user" || message.role == "assistant" ||
        (message.role == "system" && i > 0)) {
      append_turn(message.role, message.content, out);
    } else if (message.role == "tool") {
      const bool first_of_group = i == 0 || messages[i - 1].role != "tool";
      const bool last_of_group = i + 1 == messages.size() || messages[i + 1].role != "tool";
      if (first_of_group) out.append("<|im_start|>user");
      out.append("\n<tool_response>\n").append(message.content).append("\n</tool_response>");
      if (last_of_group) out.append("<|im_end|>\n");
    }
  }
  if (add_generation_prompt) out.append("<|im_start|>assistant\n");
  return out;
}

}  // namespace cmdai::tokenizer
