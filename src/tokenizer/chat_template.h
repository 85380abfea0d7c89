// ChatML prompt rendering as Qwen2.5-Instruct's chat template does it (no tool definitions):
// <|im_start|>role\ncontent<|im_end|>\n per message, Qwen's default system prompt when none given.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace cmdai::tokenizer {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
};

// The system prompt Qwen2.5's template inserts when the conversation has none.
inline constexpr std::string_view kQwenDefaultSystemPrompt =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

// Renders `messages` like the template's no-tools branch: a leading system message (or the
// default) first; user, assistant and later system messages in order; consecutive tool messages
// grouped into one user turn of <tool_response> blocks; other roles are dropped, as the template
// drops them. `add_generation_prompt` appends "<|im_start|>assistant\n".
std::string render_chatml(std::span<const ChatMessage> messages, bool add_generation_prompt);

}  // namespace cmdai::tokenizer
