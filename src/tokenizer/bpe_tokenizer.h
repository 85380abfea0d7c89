// Byte-level BPE (GPT-2 family, as used by Qwen2): pre-tokenize, map bytes to their byte-level
// tokens, then apply merges lowest rank first.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "tokenizer/vocab.h"

namespace cmdai::tokenizer {

class BpeTokenizer {
 public:
  // `vocab` must outlive the tokenizer. Fails when the vocab lacks a byte symbol's token or uses a
  // pre-tokenizer we do not implement.
  static Result<BpeTokenizer> create(const Vocab& vocab);

  // Appends the tokens of `text`, read as plain text (special tokens are the caller's business).
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  explicit BpeTokenizer(const Vocab& vocab) : vocab_(&vocab) {}
  void build_merge_index();
  size_t pair_slot(int32_t left, int32_t right) const;
  int32_t merge_rank(int32_t left, int32_t right) const;  // -1 when the pair never merges
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  const Vocab* vocab_;
  std::array<int32_t, 256> byte_tokens_{};
  // Open-addressing (left, right) -> rank table; rank -1 marks free slots.
  struct MergeSlot {
    int32_t left;
    int32_t right;
    int32_t rank;
  };
  std::vector<MergeSlot> merge_slots_;
  int merge_shift_ = 64;
};

}  // namespace cmdai::tokenizer
