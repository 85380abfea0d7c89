// Risk levels and rule matches: the vocabulary shared by the safety rules and the validator.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cmdai::safety {

// Ordered: a higher value is more dangerous, so the verdict is the maximum over all matches.
enum class RiskLevel { kSafe, kModerate, kHigh, kCritical };

// One rule that matched a command: which rule, how risky, and why in one line.
struct RuleMatch {
  std::string id;
  RiskLevel risk = RiskLevel::kSafe;
  std::string reason;
};

// "safe", "moderate", "high", "critical".
const char* risk_name(RiskLevel risk);
// The inverse of risk_name (exact, lower case); nullopt for anything else.
std::optional<RiskLevel> parse_risk(std::string_view name);

}  // namespace cmdai::safety
