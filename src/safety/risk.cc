#include "safety/risk.h"

namespace cmdai::safety {

const char* risk_name(RiskLevel risk) {
  switch (risk) {
    case RiskLevel::kSafe:
      return "safe";
    case RiskLevel::kModerate:
      return "moderate";
    case RiskLevel::kHigh:
      return "high";
    case RiskLevel::kCritical:
      return "critical";
  }
  return "unknown";
}

std::optional<RiskLevel> parse_risk(std::string_view name) {
  for (RiskLevel risk :
       {RiskLevel::kSafe, RiskLevel::kModerate, RiskLevel::kHigh, RiskLevel::kCritical}) {
    if (name == risk_name(risk)) return risk;
  }
  return std::nullopt;
}

}  // namespace cmdai::safety
