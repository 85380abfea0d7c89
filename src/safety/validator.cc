#include "safety/validator.h"

#include <algorithm>

#include "safety/command_analysis.h"
#include "safety/rules.h"

namespace cmdai::safety {

bool is_blocked(RiskLevel risk, SafetyLevel level) {
  if (risk == RiskLevel::kCritical) return true;
  return level == SafetyLevel::kStrict && risk == RiskLevel::kHigh;
}

bool needs_confirmation(RiskLevel risk, SafetyLevel level) {
  if (is_blocked(risk, level)) return false;
  switch (level) {
    case SafetyLevel::kStrict:
      return true;
    case SafetyLevel::kModerate:
      return risk >= RiskLevel::kModerate;
    case SafetyLevel::kPermissive:
      return risk >= RiskLevel::kHigh;
  }
  return true;
}

SafetyVerdict check_command(std::string_view command, SafetyLevel level, Dialect dialect) {
  SafetyVerdict verdict;
  verdict.command = std::string(command);
  for (const Invocation& invocation : analyze_command_line(command, dialect)) {
    for (RuleMatch& match : match_rules(invocation)) {
      const bool seen = std::any_of(verdict.rules.begin(), verdict.rules.end(),
                                    [&](const RuleMatch& m) { return m.id == match.id; });
      if (!seen) verdict.rules.push_back(std::move(match));
    }
  }
  std::stable_sort(verdict.rules.begin(), verdict.rules.end(),
                   [](const RuleMatch& a, const RuleMatch& b) { return a.risk > b.risk; });
  verdict.risk = verdict.rules.empty() ? RiskLevel::kSafe : verdict.rules.front().risk;
  verdict.blocked = is_blocked(verdict.risk, level);
  verdict.needs_confirmation = needs_confirmation(verdict.risk, level);
  return verdict;
}

const char* safety_level_name(SafetyLevel level) {
  switch (level) {
    case SafetyLevel::kStrict:
      return "strict";
    case SafetyLevel::kModerate:
      return "moderate";
    case SafetyLevel::kPermissive:
      return "permissive";
  }
  return "unknown";
}

std::optional<SafetyLevel> parse_safety_level(std::string_view name) {
  for (SafetyLevel level :
       {SafetyLevel::kStrict, SafetyLevel::kModerate, SafetyLevel::kPermissive}) {
    if (name == safety_level_name(level)) return level;
  }
  return std::nullopt;
}

}  // namespace cmdai::safety
