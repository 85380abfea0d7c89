// The safety rule table: each rule names one dangerous pattern, how risky it is and why, and
// matches it on an Invocation (one program run, wrappers already peeled).
#pragma once

#include <string_view>
#include <vector>

#include "safety/invocation.h"
#include "safety/risk.h"

namespace cmdai::safety {

struct Rule {
  std::string_view id;  // "<area>.<what>", stable: tests, docs and users refer to it
  RiskLevel risk;
  std::string_view family;  // on one invocation only the riskiest match of a family is kept
  std::string_view reason;  // one line, shown to the user
  bool (*matches)(const Invocation&);
};

const std::vector<Rule>& rule_table();

// Every rule matching `invocation`, keeping only the riskiest match of each family.
std::vector<RuleMatch> match_rules(const Invocation& invocation);

}  // namespace cmdai::safety
