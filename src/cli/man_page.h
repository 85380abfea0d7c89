// The cmdai(1) man page in roff, generated from the command line's own definition
// (command_tree.h), the same one --help prints: the build runs `cmdai man-page` to write it.
#pragma once

#include <string>
#include <string_view>

#include "cli/command_tree.h"

namespace cmdai::cli {

std::string man_page(const CommandInfo& root, std::string_view version);

}  // namespace cmdai::cli
