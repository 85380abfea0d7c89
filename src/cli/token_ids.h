// Parses the `--tokens 1,2,3` argument shared by `cmdai logits` and `cmdai generate`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace cmdai::cli {

// kInvalidArgument naming the bad item for anything but comma-separated non-negative integers.
Result<std::vector<int32_t>> parse_token_ids(const std::string& text);

}  // namespace cmdai::cli
