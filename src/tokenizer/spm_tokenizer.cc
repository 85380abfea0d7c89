#include "tokenizer/spm_tokenizer.h"

#include <fmt/format.h>

#include <queue>
#include <string>

#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

// A run of the escaped text; merged-away symbols have size 0.
struct Symbol {
  uint32_t offset;
  uint32_t size;
  int32_t prev;
  int32_t next;
};

// Two neighbours whose concatenation is a token. `size` detects candidates made stale by merges.
struct Candidate {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;
  bool operator<(const Candidate& other) const {  // highest score first, then leftmost
    return score != other.score ? score < other.score : left > other.left;
  }
};

std::string escape_spaces(std::string_view text, bool space_prefix) {
  std::string escaped;
  escaped.reserve(text.size() + 3);
  if (space_prefix) escaped.append(kSpmSpace);
  for (char c : text) {
    if (c == ' ') {
      escaped.append(kSpmSpace);
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

}  // namespace

SpmTokenizer::SpmTokenizer(const Vocab& vocab) : vocab_(&vocab) {
  for (int byte = 0; byte < 256; ++byte) {
    const std::optional<int32_t> id = vocab.find(fmt::format("<0x{:02X}>", byte));
    byte_tokens_[byte] = id ? *id : -1;
  }
}

void SpmTokenizer::encode(std::string_view text, bool space_prefix,
                          std::vector<int32_t>& out) const {
  const std::string escaped = escape_spaces(text, space_prefix);
  if (escaped.empty()) return;
  std::vector<Symbol> symbols;
  symbols.reserve(escaped.size());
  for (size_t pos = 0; pos < escaped.size();) {
    const uint32_t size = decode_utf8(escaped, pos).size_bytes;
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), size, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    pos += size;
  }
  const std::string_view view(escaped);
  std::priority_queue<Candidate> queue;
  const auto consider = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    const int32_t right = symbols[left].next;
    const uint32_t size = symbols[left].size + symbols[right].size;
    const std::optional<int32_t> id = vocab_->find(view.substr(symbols[left].offset, size));
    if (id) queue.push({vocab_->score(*id), left, right, size});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.size == 0 || right.size == 0 || left.next != top.right) continue;
    if (left.size + right.size != top.size) continue;
    left.size = top.size;
    right.size = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    consider(left.prev);
    consider(top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view symbol = view.substr(symbols[i].offset, symbols[i].size);
    const std::optional<int32_t> id = vocab_->find(symbol);
    if (id) {
      out.push_back(*id);
    } else {
      append_fallback(symbol, out);
    }
  }
}

void SpmTokenizer::append_fallback(std::string_view symbol, std::vector<int32_t>& out) const {
  for (char c : symbol) {
    const int32_t byte_token = byte_tokens_[static_cast<uint8_t>(c)];
    if (byte_token >= 0) {
      out.push_back(byte_token);
    } else if (vocab_->unknown_id() >= 0) {
      out.push_back(vocab_->unknown_id());
    }
  }
}

}  // namespace cmdai::tokenizer
