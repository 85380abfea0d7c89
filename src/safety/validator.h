// The safety check: rates a shell command's risk and decides, under the user's safety level,
// whether cmdai may run it, must ask first, or must refuse.
//
// Policy (what happens before a command runs):
//
//   risk \ level   strict              moderate (default)   permissive
//   safe           confirm             run                  run
//   moderate       confirm             confirm              run
//   high           BLOCK               confirm              confirm
//   critical       BLOCK               BLOCK                BLOCK
//
// A blocked command is never run, whatever flags or answers are given; needs_confirmation is
// false for it because there is nothing to confirm. docs/SAFETY.md lists the rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "safety/dialect.h"
#include "safety/risk.h"

namespace cmdai::safety {

enum class SafetyLevel { kStrict, kModerate, kPermissive };

struct SafetyVerdict {
  std::string command;
  RiskLevel risk = RiskLevel::kSafe;  // the highest risk over every program the line runs
  std::vector<RuleMatch> rules;       // riskiest first; empty when nothing matched
  bool blocked = false;
  bool needs_confirmation = false;
};

// Never fails: a command that cannot be parsed is rated high ("parse.unparseable"). `dialect` is
// the shell that will run the command; its grammar decides what the line runs.
SafetyVerdict check_command(std::string_view command, SafetyLevel level,
                            Dialect dialect = Dialect::kBash);

// The policy table above, on its own.
bool is_blocked(RiskLevel risk, SafetyLevel level);
bool needs_confirmation(RiskLevel risk, SafetyLevel level);

// "strict", "moderate", "permissive" and back (exact, lower case).
const char* safety_level_name(SafetyLevel level);
std::optional<SafetyLevel> parse_safety_level(std::string_view name);

}  // namespace cmdai::safety
