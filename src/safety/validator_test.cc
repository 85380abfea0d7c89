#include "safety/validator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "safety/rules.h"

namespace cmdai::safety {
namespace {

constexpr SafetyLevel kStrict = SafetyLevel::kStrict;
constexpr SafetyLevel kModerate = SafetyLevel::kModerate;
constexpr SafetyLevel kPermissive = SafetyLevel::kPermissive;

struct PolicyCase {
  RiskLevel risk;
  SafetyLevel level;
  bool blocked;
  bool confirm;
};

class Policy : public testing::TestWithParam<PolicyCase> {};

TEST_P(Policy, FollowsTheDocumentedTable) {
  const PolicyCase& c = GetParam();
  EXPECT_EQ(is_blocked(c.risk, c.level), c.blocked)
      << risk_name(c.risk) << " at " << safety_level_name(c.level);
  EXPECT_EQ(needs_confirmation(c.risk, c.level), c.confirm)
      << risk_name(c.risk) << " at " << safety_level_name(c.level);
}

INSTANTIATE_TEST_SUITE_P(
    AllCells, Policy,
    testing::Values(PolicyCase{RiskLevel::kSafe, kStrict, false, true},
                    PolicyCase{RiskLevel::kModerate, kStrict, false, true},
                    PolicyCase{RiskLevel::kHigh, kStrict, true, false},
                    PolicyCase{RiskLevel::kCritical, kStrict, true, false},
                    PolicyCase{RiskLevel::kSafe, kModerate, false, false},
                    PolicyCase{RiskLevel::kModerate, kModerate, false, true},
                    PolicyCase{RiskLevel::kHigh, kModerate, false, true},
                    PolicyCase{RiskLevel::kCritical, kModerate, true, false},
                    PolicyCase{RiskLevel::kSafe, kPermissive, false, false},
                    PolicyCase{RiskLevel::kModerate, kPermissive, false, false},
                    PolicyCase{RiskLevel::kHigh, kPermissive, false, true},
                    PolicyCase{RiskLevel::kCritical, kPermissive, true, false}));

TEST(CheckCommand, ReportsTheMatchingRuleWithItsReason) {
  const SafetyVerdict verdict = check_command("rm -rf /", kModerate);
  EXPECT_EQ(verdict.command, "rm -rf /");
  EXPECT_EQ(verdict.risk, RiskLevel::kCritical);
  EXPECT_TRUE(verdict.blocked);
  ASSERT_EQ(verdict.rules.size(), 1u);  // fs.rm_recursive (high) is folded into its family
  EXPECT_EQ(verdict.rules[0].id, "fs.rm_recursive_root");
  EXPECT_FALSE(verdict.rules[0].reason.empty());
}

TEST(CheckCommand, TakesTheMaximumOverAChainAndListsRiskiestFirst) {
  const SafetyVerdict verdict = check_command("rm notes.txt && git push --force", kModerate);
  EXPECT_EQ(verdict.risk, RiskLevel::kHigh);
  ASSERT_EQ(verdict.rules.size(), 2u);
  EXPECT_EQ(verdict.rules[0].id, "git.force_push");
  EXPECT_EQ(verdict.rules[1].id, "fs.rm_files");
}

TEST(CheckCommand, RatesUnparseableCommandsHigh) {
  const SafetyVerdict verdict = check_command("echo 'oops", kPermissive);
  EXPECT_EQ(verdict.risk, RiskLevel::kHigh);
  ASSERT_FALSE(verdict.rules.empty());
  EXPECT_EQ(verdict.rules[0].id, "parse.unparseable");
}

TEST(CheckCommand, SafeCommandHasNoRulesAndNeedsNoConfirmationAtModerate) {
  const SafetyVerdict verdict = check_command("ls -la", kModerate);
  EXPECT_EQ(verdict.risk, RiskLevel::kSafe);
  EXPECT_TRUE(verdict.rules.empty());
  EXPECT_FALSE(verdict.blocked);
  EXPECT_FALSE(verdict.needs_confirmation);
  EXPECT_TRUE(check_command("ls -la", kStrict).needs_confirmation);
}

TEST(CheckCommand, FollowsTheCommandInsideNestedWrappers) {
  const SafetyVerdict verdict =
      check_command("sudo env A=1 nice -n 5 bash -c \"eval 'xargs rm -rf <<< /'\"", kModerate);
  EXPECT_EQ(verdict.risk, RiskLevel::kCritical);
}

TEST(CheckCommand, RatesHostileInputWithoutCrashing) {
  std::string deep = "echo ";
  for (int i = 0; i < 30; ++i) deep += "$(";
  deep += "ls";
  for (int i = 0; i < 30; ++i) deep += ")";
  std::string many;
  for (int i = 0; i < 3000; ++i) many += "echo {a,b}{c,d}{e,f}; ";
  std::string nested_eval = "rm -rf /";
  for (int i = 0; i < 20; ++i) nested_eval = "eval \"" + nested_eval + "\"";
  struct Case {
    std::string input;
    RiskLevel risk;
    const char* rule;  // the riskiest rule, "" for none
  };
  const std::vector<Case> cases = {
      // Nesting past the analysis limit (12 levels) is rated, not followed forever: what runs
      // past it cannot be known, so it is blocked.
      {deep, RiskLevel::kCritical, "parse.too_complex"},
      {nested_eval, RiskLevel::kCritical, "parse.too_complex"},
      {many, RiskLevel::kCritical, "parse.too_complex"},  // over the lexer's 64 KiB: refused
      {std::string(60000, '('), RiskLevel::kHigh, "parse.unparseable"},
      {std::string(60000, '{'), RiskLevel::kSafe, ""},  // one word naming no known program
      // bash drops the NUL from a script or stdin: the shell may see `\xff\xferm -rf /`, or with
      // a bare NUL prefix `rm -rf /` itself.
      {std::string("\xff\xfe\x00rm -rf /", 12), RiskLevel::kCritical, "parse.nul_byte"},
      {std::string("\0rm -rf /", 9), RiskLevel::kCritical, "parse.nul_byte"},
      {std::string(30000, '\\'), RiskLevel::kSafe, ""},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const SafetyVerdict verdict = check_command(cases[i].input, kModerate);
    EXPECT_EQ(verdict.risk, cases[i].risk) << "case " << i;
    EXPECT_EQ(verdict.rules.empty() ? "" : verdict.rules[0].id, cases[i].rule) << "case " << i;
    EXPECT_EQ(verdict.blocked, cases[i].risk == RiskLevel::kCritical) << "case " << i;
  }
  // Each level handed on both as a substitution and as a `bash -c` string: work must stay
  // bounded (analysis budget) instead of doubling per level.
  std::string doubling = "ls " + std::string(30000, 'a');
  for (int i = 0; i < 12; ++i) doubling = "bash -c \"$(" + doubling + ")\"";
  EXPECT_GE(check_command(doubling, kModerate).risk, RiskLevel::kHigh);
}

// The analysis budget (analyzer.h) bounds the work per line: each level of `echo $(T) $(T)` holds
// its inner text twice, so 11 levels (25 KB) ask for ~300 KB of nested analysis. That is refused
// as too complex (fail closed) rather than followed; 8 levels (3 KB, ~30 KB of analysis) are
// checked in full. A line the grammar fuzzer found this way took ~200 ms with a 1 MiB budget.
TEST(CheckCommand, RefusesLinesWhoseNestedTextOutgrowsTheAnalysisBudget) {
  const auto doubled = [](int levels) {
    std::string text = "ls";
    for (int i = 0; i < levels; ++i) text = "echo $(" + text + ") $(" + text + ")";
    return text;
  };
  const SafetyVerdict small = check_command(doubled(8), kModerate);
  EXPECT_EQ(small.risk, RiskLevel::kSafe);
  const SafetyVerdict large = check_command(doubled(11), kModerate);
  EXPECT_EQ(large.risk, RiskLevel::kCritical);
  ASSERT_FALSE(large.rules.empty());
  EXPECT_EQ(large.rules[0].id, "parse.too_complex");
}

TEST(SafetyLevelNames, RoundTrip) {
  for (SafetyLevel level : {kStrict, kModerate, kPermissive}) {
    EXPECT_EQ(parse_safety_level(safety_level_name(level)), level);
  }
  EXPECT_FALSE(parse_safety_level("Strict").has_value());
  for (RiskLevel risk :
       {RiskLevel::kSafe, RiskLevel::kModerate, RiskLevel::kHigh, RiskLevel::kCritical}) {
    EXPECT_EQ(parse_risk(risk_name(risk)), risk);
  }
  EXPECT_FALSE(parse_risk("severe").has_value());
}

TEST(RuleTable, IdsAreUniqueAndEveryRuleIsDocumented) {
  std::ifstream doc(std::string(CMDAI_SOURCE_DIR) + "/docs/SAFETY.md");
  ASSERT_TRUE(doc.good()) << "docs/SAFETY.md missing";
  std::stringstream text;
  text << doc.rdbuf();
  std::set<std::string_view> ids;
  for (const Rule& rule : rule_table()) {
    EXPECT_TRUE(ids.insert(rule.id).second) << "duplicate rule id " << rule.id;
    EXPECT_FALSE(rule.reason.empty()) << rule.id;
    EXPECT_NE(text.str().find("`" + std::string(rule.id) + "`"), std::string::npos)
        << rule.id << " is not in docs/SAFETY.md";
  }
  EXPECT_GE(ids.size(), 60u);
}

}  // namespace
}  // namespace cmdai::safety
