#include "tokenizer/bpe_tokenizer.h"

#include <bit>
#include <queue>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/qwen2_pretokenizer.h"
#include "tokenizer/unicode.h"

namespace cmdai::tokenizer {
namespace {

// A live symbol of the word being merged; merged-away symbols get id -1.
struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
};

// A pair that may merge. The ids are rechecked when it is popped because neighbours change.
struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t left_id;
  int32_t right_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : left > other.left;
  }
};

}  // namespace

Result<BpeTokenizer> BpeTokenizer::create(const Vocab& vocab) {
  if (vocab.pre() != "qwen2") {
    return make_error(ErrorCode::kUnsupported,
                      "byte-level BPE pre-tokenizer '{}' is not supported (cmdai implements "
                      "'qwen2')",
                      vocab.pre());
  }
  BpeTokenizer tokenizer(vocab);
  std::string symbol;
  for (int byte = 0; byte < 256; ++byte) {
    symbol.clear();
    append_utf8(byte_to_codepoint(static_cast<uint8_t>(byte)), symbol);
    const std::optional<int32_t> id = vocab.find(symbol);
    if (!id) {
      return make_error(ErrorCode::kCorruptFile,
                        "tokenizer.ggml.tokens has no token for byte 0x{:02X} ('{}'), which "
                        "byte-level BPE needs",
                        byte, symbol);
    }
    tokenizer.byte_tokens_[byte] = *id;
  }
  tokenizer.build_merge_index();
  return tokenizer;
}

void BpeTokenizer::build_merge_index() {
  const std::vector<MergeRule>& merges = vocab_->merges();
  const size_t capacity = std::bit_ceil(merges.size() * 3 / 2 + 2);
  merge_shift_ = 64 - std::countr_zero(capacity);
  merge_slots_.assign(capacity, MergeSlot{0, 0, -1});
  const size_t mask = capacity - 1;
  constexpr size_t kPrefetchDistance = 16;  // the table outgrows the caches; fetch slots early
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    if (rank + kPrefetchDistance < merges.size()) {
      const MergeRule& ahead = merges[rank + kPrefetchDistance];
      __builtin_prefetch(&merge_slots_[pair_slot(ahead.left, ahead.right)], 1);
    }
    const MergeRule& merge = merges[rank];
    for (size_t slot = pair_slot(merge.left, merge.right);; slot = (slot + 1) & mask) {
      MergeSlot& entry = merge_slots_[slot];
      if (entry.rank < 0) {
        entry = {merge.left, merge.right, static_cast<int32_t>(rank)};
        break;
      }
      if (entry.left == merge.left && entry.right == merge.right) break;  // keep the best rank
    }
  }
}

size_t BpeTokenizer::pair_slot(int32_t left, int32_t right) const {
  const uint64_t key =
      (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  return (key * 0x9E3779B97F4A7C15ull) >> merge_shift_;
}

int32_t BpeTokenizer::merge_rank(int32_t left, int32_t right) const {
  const size_t mask = merge_slots_.size() - 1;
  for (size_t slot = pair_slot(left, right);; slot = (slot + 1) & mask) {
    const MergeSlot& entry = merge_slots_[slot];
    if (entry.rank < 0) return -1;
    if (entry.left == left && entry.right == right) return entry.rank;
  }
}

void BpeTokenizer::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> pieces;
  qwen2_pretokenize(text, pieces);
  for (std::string_view piece : pieces) encode_piece(piece, out);
}

void BpeTokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  const int32_t n = static_cast<int32_t>(piece.size());
  if (n == 1) {
    out.push_back(byte_tokens_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_tokens_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    const int32_t left_id = symbols[left].id;
    const int32_t right_id = symbols[symbols[left].next].id;
    const int32_t rank = merge_rank(left_id, right_id);
    if (rank >= 0) queue.push({rank, left, left_id, right_id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);

  const std::vector<MergeRule>& merges = vocab_->merges();
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.left];
    if (left.id != top.left_id || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    if (right.id != top.right_id) continue;
    left.id = merges[top.rank].merged;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    consider(left.prev);
    consider(top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace cmdai::tokenizer
