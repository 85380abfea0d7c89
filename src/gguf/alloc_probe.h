// Test-only: records the largest single operator-new allocation, so tests can prove that a corrupt
// count in a file never turns into a huge allocation.
#pragma once

#include <cstddef>

namespace cmdai::testing {

void reset_largest_allocation();
size_t largest_allocation_bytes();

}  // namespace cmdai::testing
