// Reading program arguments the way GNU-style tools do: short-flag clusters (-rf), long flags
// (--force, --size=0), "--", and options that take a value; plus find's expression.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cmdai::safety {

struct ScannedArgs {
  std::string short_flags;              // every short flag letter seen, in order
  std::vector<std::string> long_flags;  // long flag names without dashes or value
  std::map<std::string, std::string, std::less<>> values;  // option ("s", "size") -> value
  std::vector<std::string> operands;
  size_t options_end = 0;  // with stop_at_operand: index of the first operand

  bool has(char flag) const { return short_flags.find(flag) != std::string::npos; }
  bool has_long(std::string_view name) const;
  const std::string* value(std::string_view name) const;
};

// `value_shorts` letters and `value_longs` names take a value (attached or the next argument).
// By default options may follow operands (GNU permutation, so `rm / -rf` is read right);
// with stop_at_operand the first operand ends the options, as wrappers such as sudo do.
ScannedArgs scan_args(const std::vector<std::string>& args, std::string_view value_shorts = {},
                      const std::vector<std::string_view>& value_longs = {},
                      bool stop_at_operand = false);

struct FindExpression {
  std::vector<std::string> roots;  // starting points ("." when none is given)
  bool filtered = false;           // has a test (-name, -type, -mtime, ...) that narrows matches
  bool deletes = false;            // has -delete
};

// `args` are find's arguments (without "find"); -exec command words are skipped.
FindExpression parse_find(const std::vector<std::string>& args);

}  // namespace cmdai::safety
