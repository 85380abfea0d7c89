// The JSON object of one generated command and its safety verdict: what `cmdai -o json` prints
// and what POST /v1/cmdai/command answers, built in one place so the two never drift apart.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "generate/command_generator.h"
#include "safety/validator.h"

namespace cmdai::serve {

// "executed" is false and "exit_status" null: the CLI sets them when it runs the command.
nlohmann::ordered_json command_result_object(const GenerationRequest& request,
                                             const GeneratedCommand& generated,
                                             const safety::SafetyVerdict& verdict,
                                             const std::string& safety_level);

}  // namespace cmdai::serve
