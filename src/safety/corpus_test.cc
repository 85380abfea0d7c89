// Runs every row of testdata/corpus.tsv (bash) and of corpus_zsh.tsv, corpus_fish.tsv and
// corpus_sh.tsv (read in that dialect) through check_command and compares the risk.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "safety/validator.h"

namespace cmdai::safety {
namespace {

struct CorpusRow {
  Dialect dialect = Dialect::kBash;
  std::string file;
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

void load_file(const std::string& file, Dialect dialect, std::vector<CorpusRow>& rows) {
  std::ifstream in(std::string(CMDAI_SOURCE_DIR) + "/src/safety/testdata/" + file);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    rows.push_back(CorpusRow{dialect, file, number, line.substr(0, tab),
                             decode_placeholders(line.substr(tab + 1))});
  }
}

// The bash corpus alone, or every dialect's.
std::vector<CorpusRow> load_corpus(bool every_dialect = true) {
  std::vector<CorpusRow> rows;
  load_file("corpus.tsv", Dialect::kBash, rows);
  if (!every_dialect) return rows;
  load_file("corpus_zsh.tsv", Dialect::kZsh, rows);
  load_file("corpus_fish.tsv", Dialect::kFish, rows);
  load_file("corpus_sh.tsv", Dialect::kSh, rows);
  return rows;
}

int count_rows(Dialect dialect) {
  int n = 0;
  for (const CorpusRow& row : load_corpus()) n += row.dialect == dialect ? 1 : 0;
  return n;
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
  for (const CorpusRow& row : load_corpus(/*every_dialect=*/false)) {
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
    const SafetyVerdict verdict = check_command(row.command, SafetyLevel::kModerate, row.dialect);
    const std::string expected = unmet(row.expectation, verdict.risk);
    if (expected.empty()) continue;
    ++failures;
    std::string rules;
    for (const RuleMatch& match : verdict.rules) rules += " " + match.id;
    ADD_FAILURE() << row.file << ":" << row.line << ": `" << row.command << "` expected "
                  << expected << ", got " << risk_name(verdict.risk) << " (rules:" << rules << ")";
  }
  EXPECT_EQ(failures, 0);
}

TEST(SafetyCorpus, CriticalRowsAreBlockedAtEveryLevel) {
  for (const CorpusRow& row : load_corpus()) {
    if (row.expectation != "critical") continue;
    for (SafetyLevel level :
         {SafetyLevel::kStrict, SafetyLevel::kModerate, SafetyLevel::kPermissive}) {
      EXPECT_TRUE(check_command(row.command, level, row.dialect).blocked)
          << row.file << ":" << row.line << ": " << row.command << " at "
          << safety_level_name(level);
    }
  }
}

TEST(SafetyCorpus, EveryDialectHasItsOwnRows) {
  EXPECT_GE(count_rows(Dialect::kZsh), 40);
  EXPECT_GE(count_rows(Dialect::kFish), 40);
  EXPECT_GE(count_rows(Dialect::kSh), 10);
}

// zsh and sh read most bash lines alike: an everyday bash line must stay everyday in them.
TEST(SafetyCorpus, EverydayBashRowsStayEverydayInZshAndSh) {
  int failures = 0;
  for (const CorpusRow& row : load_corpus(/*every_dialect=*/false)) {
    if (row.expectation != "safe" && row.expectation != "moderate" &&
        row.expectation != "<=moderate") {
      continue;
    }
    for (Dialect dialect : {Dialect::kZsh, Dialect::kSh}) {
      const SafetyVerdict verdict = check_command(row.command, SafetyLevel::kModerate, dialect);
      if (verdict.risk <= RiskLevel::kModerate) continue;
      ++failures;
      ADD_FAILURE() << "corpus.tsv:" << row.line << ": `" << row.command << "` in "
                    << dialect_name(dialect) << " is " << risk_name(verdict.risk);
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace cmdai::safety
