#include "serve/command_result.h"

namespace cmdai::serve {

nlohmann::ordered_json command_result_object(const GenerationRequest& request,
                                             const GeneratedCommand& generated,
                                             const safety::SafetyVerdict& verdict,
                                             const std::string& safety_level) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const auto& r : verdict.rules) {
    rules.push_back({{"id", r.id}, {"risk", safety::risk_name(r.risk)}, {"reason", r.reason}});
  }
  const GenerationTimings& t = generated.timings;
  return {{"request", request.text},
          {"command", generated.command},
          {"explanation", generated.explanation},
          {"risk", safety::risk_name(verdict.risk)},
          {"blocked", verdict.blocked},
          {"needs_confirmation", verdict.needs_confirmation},
          {"rules", rules},
          {"safety_level", safety_level},
          {"shell", request.shell},
          {"backend", generated.backend},
          {"model", generated.model},
          {"attempts", generated.attempts},
          {"timings",
           {{"device_open_ms", t.device_open_ms},
            {"load_ms", t.load_ms},
            {"prompt_ms", t.prompt_ms},
            {"first_token_ms", t.first_token_ms},
            {"decode_ms", t.decode_ms},
            {"total_ms", t.total_ms},
            {"prompt_tokens", t.prompt_tokens},
            {"cached_prompt_tokens", t.cached_prompt_tokens},
            {"generated_tokens", t.generated_tokens}}},
          {"executed", false},
          {"exit_status", nullptr}};
}

}  // namespace cmdai::serve
