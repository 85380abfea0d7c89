// The tokenizer vocabulary of a GGUF file: token texts, types, scores, merges, special ids and the
// chat template, validated on load so the tokenizers can index without checks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"

namespace cmdai::tokenizer {

// tokenizer.ggml.token_type values.
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class VocabModel {
  kBytePairEncoding,  // "gpt2": byte-level BPE with ranked merges (Qwen2)
  kSentencePiece,     // "llama": score-driven merges with <0xXX> byte fallback
};

// One BPE merge rule; its rank is its index in Vocab::merges().
struct MergeRule {
  int32_t left;
  int32_t right;
  int32_t merged;  // the token whose text is left + right
};

class Vocab {
 public:
  // Reads the tokenizer.* keys. Missing required keys, arrays of unequal lengths, special ids out
  // of range and merges naming unknown tokens are kCorruptFile errors naming the key.
  // `cached_index`, a copy of index_bytes() from an earlier load of this file, supplies the text
  // index and the resolved merges (~16 ms of work for the 152k-token Qwen vocab) when it is intact
  // and matches these tokens; otherwise they are built as usual.
  static Result<Vocab> from_gguf(const gguf::GgufFile& file,
                                 std::span<const uint8_t> cached_index = {});

  // The text index and merges as bytes for a cache file (magic with format version, counts, a
  // hash of the token texts, the tables, a checksum). index_from_cache(): this load used one.
  std::vector<uint8_t> index_bytes() const;
  bool index_from_cache() const { return index_from_cache_; }

  VocabModel model() const { return model_; }
  const std::string& pre() const { return pre_; }  // tokenizer.ggml.pre, "" if absent
  int64_t size() const { return static_cast<int64_t>(types_.size()); }
  bool contains(int32_t id) const { return id >= 0 && id < size(); }

  std::string_view text(int32_t id) const {
    return std::string_view(arena_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  TokenType type(int32_t id) const { return types_[id]; }
  float score(int32_t id) const { return scores_.empty() ? 0.0f : scores_[id]; }
  std::optional<int32_t> find(std::string_view text) const;

  const std::vector<MergeRule>& merges() const { return merges_; }

  // -1 when the file names none.
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t unknown_id() const { return unknown_id_; }
  int32_t padding_id() const { return padding_id_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  bool add_space_prefix() const { return add_space_prefix_; }
  const std::string& chat_template() const { return chat_template_; }

  // End-of-generation tokens: eos plus the end-of-turn markers present in the vocab.
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  bool is_eog(int32_t id) const;

 private:
  Status read_tokens(const gguf::GgufFile& file);
  Status read_merges(const gguf::GgufFile& file);
  size_t resolve_merges(const std::vector<std::string_view>& merges, size_t begin, size_t end);
  Status read_special_ids(const gguf::GgufFile& file);
  void build_index();
  bool restore_index(std::span<const uint8_t> bytes);  // false, and no change, unless intact
  uint64_t texts_hash() const;                         // of the token texts and their offsets
  void prefetch_slot(uint64_t hash) const;
  std::optional<int32_t> find_hashed(std::string_view text, uint64_t hash) const;
  std::optional<int32_t> guess_merged(int32_t candidate, std::string_view left,
                                      std::string_view right) const;
  void collect_eog_ids();

  VocabModel model_ = VocabModel::kBytePairEncoding;
  std::string pre_;
  std::string arena_;              // every token text, back to back
  std::vector<uint32_t> offsets_;  // size() + 1 entries into arena_
  std::vector<TokenType> types_;
  std::vector<float> scores_;  // empty when the file has none
  // Open-addressing text -> id table; the tag (low hash bits) spares most text comparisons.
  struct Slot {
    int32_t id;  // -1 = empty
    uint32_t tag;
  };
  std::vector<Slot> slots_;
  int slot_shift_ = 64;
  bool has_repeated_texts_ = false;
  std::vector<MergeRule> merges_;
  bool index_from_cache_ = false;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  int32_t unknown_id_ = -1;
  int32_t padding_id_ = -1;
  bool add_bos_ = false;
  bool add_eos_ = false;
  bool add_space_prefix_ = false;
  std::string chat_template_;
  std::vector<int32_t> eog_ids_;
};

}  // namespace cmdai::tokenizer
