#include "tokenizer/vocab.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <thread>

namespace cmdai::tokenizer {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";

// Texts that end a turn in the chat formats we know; matched only on non-normal tokens.
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|im_end|>",    "<|endoftext|>",   "<|eot_id|>",  "<|end|>",       "<|eom_id|>",
    "<end_of_turn>", "<|end_of_text|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
};

// How far ahead (in tokens or merges) the loaders prefetch hash slots.
constexpr int32_t kPrefetchDistance = 16;

// Eight bytes per multiply: token texts are short and the load path hashes about 450,000 of them;
// the index cache's checksums use it too.
uint64_t hash_bytes(std::span<const uint8_t> bytes, uint64_t hash = 0x9E3779B97F4A7C15ull) {
  hash ^= bytes.size();
  size_t pos = 0;
  for (; pos + 8 <= bytes.size(); pos += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + pos, 8);
    hash = (hash ^ word) * 0xBF58476D1CE4E5B9ull;
    hash ^= hash >> 31;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + pos, bytes.size() - pos);
  hash = (hash ^ tail) * 0x94D049BB133111EBull;
  return hash ^ (hash >> 29);
}

uint64_t hash_text(std::string_view text) {
  return hash_bytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Error corrupt(const gguf::GgufFile& file, std::string_view key, const std::string& what) {
  return make_error(ErrorCode::kCorruptFile, "{}: {} {}; the tokenizer cannot be used", file.path(),
                    key, what);
}

// A missing key is a corrupt tokenizer, not a missing file: say so with the key's name.
template <typename T>
Result<T> require(Result<T> value, const gguf::GgufFile& file, std::string_view key) {
  if (value.ok() || value.error().code != ErrorCode::kNotFound) return value;
  return corrupt(file, key, "is missing");
}

}  // namespace

Result<Vocab> Vocab::from_gguf(const gguf::GgufFile& file, std::span<const uint8_t> cached_index) {
  Vocab vocab;
  CMDAI_ASSIGN_OR_RETURN(std::string_view model,
                         require(file.get_string(kModelKey), file, kModelKey));
  if (model == "gpt2") {
    vocab.model_ = VocabModel::kBytePairEncoding;
  } else if (model == "llama") {
    vocab.model_ = VocabModel::kSentencePiece;
  } else {
    return make_error(ErrorCode::kUnsupported,
                      "{}: tokenizer model '{}' is not supported (cmdai reads 'gpt2' and 'llama')",
                      file.path(), model);
  }
  if (file.find("tokenizer.ggml.pre") != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(std::string_view pre, file.get_string("tokenizer.ggml.pre"));
    vocab.pre_ = std::string(pre);
  }
  CMDAI_TRY(vocab.read_tokens(file));
  vocab.index_from_cache_ = !cached_index.empty() && vocab.restore_index(cached_index);
  if (!vocab.index_from_cache_) {
    vocab.build_index();
    if (vocab.model_ == VocabModel::kBytePairEncoding) CMDAI_TRY(vocab.read_merges(file));
  }
  CMDAI_TRY(vocab.read_special_ids(file));
  if (file.find("tokenizer.chat_template") != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(std::string_view chat_template,
                           file.get_string("tokenizer.chat_template"));
    vocab.chat_template_ = std::string(chat_template);
  }
  vocab.collect_eog_ids();
  return vocab;
}

Status Vocab::read_tokens(const gguf::GgufFile& file) {
  CMDAI_ASSIGN_OR_RETURN(const std::vector<std::string_view>* tokens,
                         require(file.get_string_array(kTokensKey), file, kTokensKey));
  if (tokens->empty()) return corrupt(file, kTokensKey, "is empty");
  if (tokens->size() >= static_cast<size_t>(INT32_MAX)) {
    return corrupt(file, kTokensKey, fmt::format("has {} entries, too many", tokens->size()));
  }
  size_t total_bytes = 0;
  for (std::string_view token : *tokens) total_bytes += token.size();
  if (total_bytes >= UINT32_MAX) return corrupt(file, kTokensKey, "holds over 4 GiB of text");
  arena_.reserve(total_bytes);
  offsets_.reserve(tokens->size() + 1);
  for (std::string_view token : *tokens) {
    offsets_.push_back(static_cast<uint32_t>(arena_.size()));
    arena_.append(token);
  }
  offsets_.push_back(static_cast<uint32_t>(arena_.size()));

  types_.assign(tokens->size(), TokenType::kNormal);
  if (file.find(kTypesKey) != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(std::vector<int64_t> types, file.get_int_array(kTypesKey));
    if (types.size() != tokens->size()) {
      return corrupt(
          file, kTypesKey,
          fmt::format("has {} entries but {} has {}", types.size(), kTokensKey, tokens->size()));
    }
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] < 0 || types[i] > static_cast<int64_t>(TokenType::kByte)) {
        return corrupt(file, fmt::format("{}[{}]", kTypesKey, i),
                       fmt::format("is {}, not a token type", types[i]));
      }
      types_[i] = static_cast<TokenType>(types[i]);
    }
  }
  if (file.find(kScoresKey) != nullptr) {
    CMDAI_ASSIGN_OR_RETURN(scores_, file.get_float_array(kScoresKey));
    if (scores_.size() != tokens->size()) {
      return corrupt(
          file, kScoresKey,
          fmt::format("has {} entries but {} has {}", scores_.size(), kTokensKey, tokens->size()));
    }
  }
  return ok_status();
}

void Vocab::build_index() {
  const size_t capacity = std::bit_ceil(static_cast<size_t>(size()) * 3 / 2 + 2);
  slots_.assign(capacity, Slot{-1, 0});
  slot_shift_ = 64 - std::countr_zero(capacity);
  const size_t mask = capacity - 1;
  std::vector<uint64_t> hashes(size());
  for (int32_t id = 0; id < size(); ++id) hashes[id] = hash_text(text(id));
  // Slots are random accesses into a table larger than the caches: fetch them ahead of use.
  for (int32_t id = 0; id < size(); ++id) {
    if (id + kPrefetchDistance < size()) prefetch_slot(hashes[id + kPrefetchDistance]);
    const std::string_view token = text(id);
    const uint32_t tag = static_cast<uint32_t>(hashes[id]);
    for (size_t slot = hashes[id] >> slot_shift_;; slot = (slot + 1) & mask) {
      if (slots_[slot].id < 0) {
        slots_[slot] = {id, tag};
        break;
      }
      if (slots_[slot].tag == tag && text(slots_[slot].id) == token) {
        has_repeated_texts_ = true;  // find() keeps answering the first id
        break;
      }
    }
  }
}

namespace {

// Index cache layout (native byte order; the file is local to this machine):
//   magic[8] (last byte: format version), u32 tokens, u32 merges, u32 slots, i32 slot_shift,
//   u32 has_repeated_texts, u32 reserved, u64 hash of the token texts and offsets,
//   Slot[slots], MergeRule[merges], u64 hash of everything before it.
constexpr char kIndexMagic[8] = {'C', 'M', 'D', 'A', 'I', 'T', 'I', '1'};
struct IndexHeader {
  char magic[8];
  uint32_t tokens, merges, slots;
  int32_t slot_shift;
  uint32_t has_repeated_texts, reserved;
  uint64_t texts_hash;
};
static_assert(sizeof(IndexHeader) == 40);

template <typename T>
std::span<const uint8_t> as_bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

}  // namespace

uint64_t Vocab::texts_hash() const { return hash_bytes(as_bytes_of(offsets_), hash_text(arena_)); }

std::vector<uint8_t> Vocab::index_bytes() const {
  IndexHeader h{};
  std::memcpy(h.magic, kIndexMagic, sizeof h.magic);
  h.tokens = static_cast<uint32_t>(size());
  h.merges = static_cast<uint32_t>(merges_.size());
  h.slots = static_cast<uint32_t>(slots_.size());
  h.slot_shift = slot_shift_;
  h.has_repeated_texts = has_repeated_texts_ ? 1 : 0;
  h.texts_hash = texts_hash();
  const std::span<const uint8_t> slots = as_bytes_of(slots_), merges = as_bytes_of(merges_);
  std::vector<uint8_t> out(sizeof h + slots.size() + merges.size() + sizeof(uint64_t));
  std::memcpy(out.data(), &h, sizeof h);
  if (!slots.empty()) std::memcpy(out.data() + sizeof h, slots.data(), slots.size());
  if (!merges.empty())
    std::memcpy(out.data() + sizeof h + slots.size(), merges.data(), merges.size());
  const uint64_t sum = hash_bytes(std::span<const uint8_t>(out).first(out.size() - sizeof sum));
  std::memcpy(out.data() + out.size() - sizeof sum, &sum, sizeof sum);
  return out;
}

bool Vocab::restore_index(std::span<const uint8_t> bytes) {
  IndexHeader h;
  if (bytes.size() < sizeof h + sizeof(uint64_t)) return false;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kIndexMagic, sizeof h.magic) != 0) return false;
  if (h.tokens != static_cast<uint64_t>(size()) ||
      h.slots !=
          std::bit_ceil(static_cast<size_t>(size()) * 3 / 2 + 2) ||  // as build_index sizes it
      h.slot_shift != 64 - std::countr_zero(h.slots) ||
      h.has_repeated_texts > 1) {
    return false;
  }
  if (model_ != VocabModel::kBytePairEncoding && h.merges != 0) return false;
  const size_t slots_bytes = size_t{h.slots} * sizeof(Slot),
               merges_bytes = size_t{h.merges} * sizeof(MergeRule);
  if (bytes.size() != sizeof h + slots_bytes + merges_bytes + sizeof(uint64_t)) return false;
  uint64_t sum;
  std::memcpy(&sum, bytes.data() + bytes.size() - sizeof sum, sizeof sum);
  if (sum != hash_bytes(bytes.first(bytes.size() - sizeof sum))) return false;
  if (h.texts_hash != texts_hash()) return false;  // another vocab's tables
  std::vector<Slot> slots(h.slots);
  std::memcpy(slots.data(), bytes.data() + sizeof h, slots_bytes);
  std::vector<MergeRule> merges(h.merges);
  std::memcpy(merges.data(), bytes.data() + sizeof h + slots_bytes, merges_bytes);
  // The checksum catches damage; ranges are checked too, so no table can index out of bounds.
  int64_t used = 0;  // at most one slot per token, so probing always meets an empty slot
  for (const Slot& slot : slots) {
    if (slot.id < -1 || slot.id >= size()) return false;
    used += slot.id >= 0;
  }
  if (used > size()) return false;
  for (const MergeRule& m : merges) {
    if (!contains(m.left) || !contains(m.right) || !contains(m.merged)) return false;
  }
  slots_ = std::move(slots);
  merges_ = std::move(merges);
  slot_shift_ = h.slot_shift;
  has_repeated_texts_ = h.has_repeated_texts != 0;
  return true;
}

void Vocab::prefetch_slot(uint64_t hash) const { __builtin_prefetch(&slots_[hash >> slot_shift_]); }

std::optional<int32_t> Vocab::find(std::string_view token) const {
  return find_hashed(token, hash_text(token));
}

std::optional<int32_t> Vocab::find_hashed(std::string_view token, uint64_t hash) const {
  const uint32_t tag = static_cast<uint32_t>(hash);
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash >> slot_shift_;; slot = (slot + 1) & mask) {
    const Slot& entry = slots_[slot];
    if (entry.id < 0) return std::nullopt;
    if (entry.tag == tag && text(entry.id) == token) return entry.id;
  }
}

// Resolves merges [begin, end) into merges_ (already sized); returns the first index that does not
// resolve, or `end`. Reads only the vocab's index, so ranges can run on different threads.
size_t Vocab::resolve_merges(const std::vector<std::string_view>& merges, size_t begin,
                             size_t end) {
  // Pass 1 splits "left right" and hashes both parts, so pass 2 can prefetch their slots.
  std::vector<uint32_t> splits(end - begin);
  std::vector<uint64_t> hashes(2 * (end - begin));
  for (size_t i = begin; i < end; ++i) {
    const std::string_view merge = merges[i];
    const size_t space = merge.find(' ', 1);
    if (space == std::string_view::npos) return i;
    splits[i - begin] = static_cast<uint32_t>(space);
    hashes[2 * (i - begin)] = hash_text(merge.substr(0, space));
    hashes[2 * (i - begin) + 1] = hash_text(merge.substr(space + 1));
  }
  std::string joined;
  int32_t previous_merged = -1;
  for (size_t i = begin; i < end; ++i) {
    const size_t k = i - begin;
    if (i + kPrefetchDistance < end) {
      prefetch_slot(hashes[2 * (k + kPrefetchDistance)]);
      prefetch_slot(hashes[2 * (k + kPrefetchDistance) + 1]);
    }
    const std::string_view merge = merges[i];
    const std::string_view left = merge.substr(0, splits[k]);
    const std::string_view right = merge.substr(splits[k] + 1);
    const std::optional<int32_t> left_id = find_hashed(left, hashes[2 * k]);
    const std::optional<int32_t> right_id = find_hashed(right, hashes[2 * k + 1]);
    std::optional<int32_t> merged_id = guess_merged(previous_merged + 1, left, right);
    if (!merged_id) {
      joined.assign(left);
      joined.append(right);
      merged_id = find(joined);
    }
    if (!left_id || !right_id || !merged_id) return i;
    merges_[i] = {*left_id, *right_id, *merged_id};
    previous_merged = *merged_id;
  }
  return end;
}

Status Vocab::read_merges(const gguf::GgufFile& file) {
  CMDAI_ASSIGN_OR_RETURN(const std::vector<std::string_view>* merges,
                         require(file.get_string_array(kMergesKey), file, kMergesKey));
  const size_t n_merges = merges->size();
  merges_.resize(n_merges);
  // Every request's load resolves ~150k merges (~20 ms on one core): a second thread takes half.
  constexpr size_t kSplitAbove = 16384;
  size_t bad = n_merges;
  if (n_merges > kSplitAbove && std::thread::hardware_concurrency() > 1) {
    const size_t half = n_merges / 2;
    size_t bad_upper = n_merges;
    std::thread upper([&] { bad_upper = resolve_merges(*merges, half, n_merges); });
    bad = resolve_merges(*merges, 0, half);
    upper.join();
    if (bad == half) bad = bad_upper;
  } else {
    bad = resolve_merges(*merges, 0, n_merges);
  }
  if (bad == n_merges) return ok_status();
  const std::string_view merge = (*merges)[bad];
  const size_t space = merge.find(' ', 1);
  const std::string where = fmt::format("{}[{}]", kMergesKey, bad);
  if (space == std::string_view::npos) {
    return corrupt(file, where, fmt::format("'{}' has no space between its parts", merge));
  }
  const std::string_view left = merge.substr(0, space), right = merge.substr(space + 1);
  const std::string missing = !find(left)    ? std::string(left)
                              : !find(right) ? std::string(right)
                                             : std::string(left) + std::string(right);
  return corrupt(file, where, fmt::format("'{}' names '{}', which is not a token", merge, missing));
}

// Vocabularies converted from Hugging Face list merged tokens in merge order, so the token after
// the previous merge's result is usually the answer; checking it reads the arena sequentially.
std::optional<int32_t> Vocab::guess_merged(int32_t candidate, std::string_view left,
                                           std::string_view right) const {
  if (has_repeated_texts_ || candidate <= 0 || candidate >= size()) return std::nullopt;
  const std::string_view token = text(candidate);
  if (token.size() != left.size() + right.size()) return std::nullopt;
  if (!token.starts_with(left) || !token.ends_with(right)) return std::nullopt;
  return candidate;
}

Status Vocab::read_special_ids(const gguf::GgufFile& file) {
  const auto read_id = [&](std::string_view key, int32_t& out) -> Status {
    CMDAI_ASSIGN_OR_RETURN(int64_t id, file.get_int_or(key, -1));
    if (id < 0 || id == UINT32_MAX) return ok_status();  // absent, or written as "none"
    if (id >= size()) {
      return corrupt(file, key, fmt::format("is {} but the vocab has {} tokens", id, size()));
    }
    out = static_cast<int32_t>(id);
    return ok_status();
  };
  CMDAI_TRY(read_id("tokenizer.ggml.bos_token_id", bos_id_));
  CMDAI_TRY(read_id("tokenizer.ggml.eos_token_id", eos_id_));
  CMDAI_TRY(read_id("tokenizer.ggml.unknown_token_id", unknown_id_));
  CMDAI_TRY(read_id("tokenizer.ggml.padding_token_id", padding_id_));
  // SentencePiece models add BOS and a leading space unless told otherwise; BPE models do not.
  const bool spm = model_ == VocabModel::kSentencePiece;
  CMDAI_ASSIGN_OR_RETURN(add_bos_, file.get_bool_or("tokenizer.ggml.add_bos_token", spm));
  CMDAI_ASSIGN_OR_RETURN(add_eos_, file.get_bool_or("tokenizer.ggml.add_eos_token", false));
  CMDAI_ASSIGN_OR_RETURN(add_space_prefix_,
                         file.get_bool_or("tokenizer.ggml.add_space_prefix", spm));
  return ok_status();
}

void Vocab::collect_eog_ids() {
  if (eos_id_ >= 0) eog_ids_.push_back(eos_id_);
  for (std::string_view marker : kEndOfTurnTexts) {
    const std::optional<int32_t> id = find(marker);
    if (!id || type(*id) == TokenType::kNormal) continue;
    if (std::find(eog_ids_.begin(), eog_ids_.end(), *id) == eog_ids_.end()) eog_ids_.push_back(*id);
  }
}

bool Vocab::is_eog(int32_t id) const {
  return std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

}  // namespace cmdai::tokenizer
