#include "cli/token_ids.h"

#include <algorithm>
#include <charconv>

namespace cmdai::cli {

Result<std::vector<int32_t>> parse_token_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    int32_t id = 0;
    const char* first = text.data() + start;
    const char* last = text.data() + end;
    while (first < last && *first == ' ') ++first;
    const auto parsed = std::from_chars(first, last, id);
    if (parsed.ec != std::errc() || parsed.ptr != last || id < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--tokens: '{}' is not a list of token ids such as 1,2,3",
                        std::string(text.data() + start, end - start));
    }
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

}  // namespace cmdai::cli
