// Runs every row of testdata/corpus.tsv through check_command and compares the risk.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "safety/validator.h"

namespace cmdai::safety {
namespace {

struct CorpusRow {
  int line = 0;
  std::string expectation;  // "critical", ">=high", "<=moderate", ...
  std::string command;
};

std::string decode_placeholders(std::string text) {
  for (auto [from, to] : {std::pair<std::string, std::string>{"{TAB}", "\t"}, {"{NL}", "\n"}}) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

std::vector<CorpusRow> load_corpus() {
  std::ifstream in(std::string(CMDAI_SOURCE_DIR) + "/src/safety/testdata/corpus.tsv");
  std::vector<CorpusRow> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    rows.push_back(
        CorpusRow{number, line.substr(0, tab), decode_placeholders(line.substr(tab + 1))});
  }
  return rows;
}

// Returns an empty string when `risk` satisfies `expectation`, else what was expected.
std::string unmet(const std::string& expectation, RiskLevel risk) {
  std::string level = expectation;
  char op = '=';
  if (expectation.rfind(">=", 0) == 0 || expectation.rfind("<=", 0) == 0) {
    op = expectation[0];
    level = expectation.substr(2);
  }
  const std::optional<RiskLevel> wanted = parse_risk(level);
  if (!wanted) return "a valid expectation (got '" + expectation + "')";
  const bool ok = op == '=' ? risk == *wanted : op == '>' ? risk >= *wanted : risk <= *wanted;
  return ok ? "" : expectation;
}

TEST(SafetyCorpus, HasAtLeast600DangerousAnd500EverydayCommands) {
  int dangerous = 0;
  int everyday = 0;
  for (const CorpusRow& row : load_corpus()) {
    const std::string level = row.expectation.substr(row.expectation.find_first_not_of("<>="));
    if (level == "high" || level == "critical") ++dangerous;
    if (level == "safe" || level == "moderate") ++everyday;
  }
  EXPECT_GE(dangerous, 600);
  EXPECT_GE(everyday, 500);
}

TEST(SafetyCorpus, EveryRowGetsItsExpectedRisk) {
  const std::vector<CorpusRow> rows = load_corpus();
  ASSERT_FALSE(rows.empty()) << "corpus.tsv not found under " << CMDAI_SOURCE_DIR;
  int failures = 0;
  for (const CorpusRow& row : rows) {
    const SafetyVerdict verdict = check_command(row.command, SafetyLevel::kModerate);
    const std::string expected = unmet(row.expectation, verdict.risk);
    if (expected.empty()) continue;
    ++failures;
    std::string rules;
    for (const RuleMatch& match : verdict.rules) rules += " " + match.id;
    ADD_FAILURE() << "corpus.tsv:" << row.line << ": `" << row.command << "` expected " << expected
                  << ", got " << risk_name(verdict.risk) << " (rules:" << rules << ")";
  }
  EXPECT_EQ(failures, 0);
}

TEST(SafetyCorpus, CriticalRowsAreBlockedAtEveryLevel) {
  for (const CorpusRow& row : load_corpus()) {
    if (row.expectation != "critical") continue;
    for (SafetyLevel level :
         {SafetyLevel::kStrict, SafetyLevel::kModerate, SafetyLevel::kPermissive}) {
      EXPECT_TRUE(check_command(row.command, level).blocked)
          << row.command << " at " << safety_level_name(level);
    }
  }
}

}  // namespace
}  // namespace cmdai::safety
