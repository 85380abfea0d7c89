// Program options read the way the programs read them: GNU long-option abbreviations resolved
// (`rm --rec --fo`) and the flags that make a program change nothing (--help, -n, --dry-run).
#pragma once

#include <string>
#include <vector>

namespace cmdai::safety {

// Rewrites unambiguous prefixes of long options to their full names, for the programs whose
// rules look at long options.
void expand_long_abbreviations(const std::string& program, std::vector<std::string>& args);
// True when `args` make `program` change nothing: --help, --version or a dry-run flag.
bool is_dry_run(const std::string& program, const std::vector<std::string>& args);

}  // namespace cmdai::safety
