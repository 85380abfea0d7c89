#include "safety/arg_scan.h"

#include <algorithm>

namespace cmdai::safety {

bool ScannedArgs::has_long(std::string_view name) const {
  return std::find(long_flags.begin(), long_flags.end(), name) != long_flags.end();
}

const std::string* ScannedArgs::value(std::string_view name) const {
  const auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

ScannedArgs scan_args(const std::vector<std::string>& args, std::string_view value_shorts,
                      const std::vector<std::string_view>& value_longs, bool stop_at_operand) {
  ScannedArgs scanned;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      const size_t eq = arg.find('=');
      std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        scanned.values[name] = arg.substr(eq + 1);
      } else if (std::find(value_longs.begin(), value_longs.end(), name) != value_longs.end() &&
                 i + 1 < args.size()) {
        scanned.values[name] = args[++i];
      }
      scanned.long_flags.push_back(std::move(name));
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      for (size_t k = 1; k < arg.size(); ++k) {
        const char flag = arg[k];
        scanned.short_flags += flag;
        if (value_shorts.find(flag) == std::string_view::npos) continue;
        if (k + 1 < arg.size()) {
          scanned.values[std::string(1, flag)] = arg.substr(k + 1);
        } else if (i + 1 < args.size()) {
          scanned.values[std::string(1, flag)] = args[++i];
        }
        break;
      }
      continue;
    }
    if (stop_at_operand) break;
    scanned.operands.push_back(arg);
  }
  scanned.options_end = std::min(i, args.size());
  for (; i < args.size(); ++i) scanned.operands.push_back(args[i]);
  return scanned;
}

FindExpression parse_find(const std::vector<std::string>& args) {
  FindExpression expression;
  size_t i = 0;
  while (i < args.size() && (args[i] == "-H" || args[i] == "-L" || args[i] == "-P" ||
                             args[i].rfind("-O", 0) == 0 || args[i] == "-D")) {
    i += args[i] == "-D" ? 2 : 1;
  }
  while (i < args.size() && !args[i].empty() && args[i][0] != '-' && args[i] != "(" &&
         args[i] != "!") {
    expression.roots.push_back(args[i++]);
  }
  if (expression.roots.empty()) expression.roots.push_back(".");
  static const std::vector<std::string_view> kNotFilters = {"-print",
                                                            "-print0",
                                                            "-delete",
                                                            "-depth",
                                                            "-xdev",
                                                            "-mount",
                                                            "-maxdepth",
                                                            "-follow",
                                                            "-noleaf",
                                                            "-daystart",
                                                            "-ignore_readdir_race",
                                                            "-ls",
                                                            "-fprint",
                                                            "-d"};
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-exec" || arg == "-execdir" || arg == "-ok" || arg == "-okdir") {
      while (i + 1 < args.size() && args[i + 1] != ";" && args[i + 1] != "+") ++i;
      ++i;
      continue;
    }
    if (arg == "-delete") expression.deletes = true;
    if (arg.size() > 1 && arg[0] == '-' &&
        std::find(kNotFilters.begin(), kNotFilters.end(), arg) == kNotFilters.end()) {
      expression.filtered = true;
    }
  }
  return expression;
}

}  // namespace cmdai::safety
