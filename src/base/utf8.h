// Strict UTF-8 (Unicode's well-formed byte sequences: no overlong forms, no surrogates, nothing
// above U+10FFFF), for checking text once where it enters or leaves cmdai.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cmdai {

// Length of the well-formed sequence starting at s[i] (1 to 4), or 0 when none starts there.
size_t utf8_sequence_length(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

// s with every byte that does not start a well-formed sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);

}  // namespace cmdai
