// Resident memory of this process, read from /proc: for bench reports and unload() checks.
#pragma once

#include <cstdint>

namespace cmdai {

int64_t current_rss_bytes();  // -1 where unknown
int64_t peak_rss_bytes();     // -1 where unknown

}  // namespace cmdai
