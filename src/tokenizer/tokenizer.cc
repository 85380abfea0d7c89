#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>

#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/spm_tokenizer.h"

namespace cmdai::tokenizer {
namespace {

// A token matched before ordinary tokenization. `always`: matched even without parse_special.
struct SpecialToken {
  std::string_view text;
  int32_t id;
  bool always;
};

// A run of plain text, or one special token (token >= 0).
struct Fragment {
  std::string_view text;
  int32_t token;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0x41>" -> 0x41, the SentencePiece byte-fallback spelling.
std::optional<uint8_t> parse_byte_token(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return std::nullopt;
  const int high = hex_digit(text[3]);
  const int low = hex_digit(text[4]);
  if (high < 0 || low < 0) return std::nullopt;
  return static_cast<uint8_t>(high * 16 + low);
}

}  // namespace

struct Tokenizer::Impl {
  explicit Impl(Vocab loaded) : vocab(std::move(loaded)) {}

  void collect_special_tokens();
  std::vector<Fragment> split_special(std::string_view text, bool parse_special) const;

  Vocab vocab;
  std::optional<BpeTokenizer> bpe;
  std::optional<SpmTokenizer> spm;
  std::vector<SpecialToken> specials;  // longest text first, so longer matches win
  std::array<bool, 256> special_first_byte{};
};

void Tokenizer::Impl::collect_special_tokens() {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType type = vocab.type(id);
    const bool user_defined = type == TokenType::kUserDefined;
    if (!user_defined && type != TokenType::kControl && type != TokenType::kUnknown) continue;
    if (vocab.text(id).empty()) continue;
    specials.push_back({vocab.text(id), id, user_defined});
    special_first_byte[static_cast<uint8_t>(vocab.text(id)[0])] = true;
  }
  std::stable_sort(specials.begin(), specials.end(),
                   [](const auto& a, const auto& b) { return a.text.size() > b.text.size(); });
}

std::vector<Fragment> Tokenizer::Impl::split_special(std::string_view text,
                                                     bool parse_special) const {
  std::vector<Fragment> fragments;
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const SpecialToken* match = nullptr;
    if (special_first_byte[static_cast<uint8_t>(text[pos])]) {
      for (const SpecialToken& special : specials) {
        if ((parse_special || special.always) && text.substr(pos).starts_with(special.text)) {
          match = &special;
          break;
        }
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    if (pos > start) fragments.push_back({text.substr(start, pos - start), -1});
    fragments.push_back({match->text, match->id});
    pos += match->text.size();
    start = pos;
  }
  if (start < text.size()) fragments.push_back({text.substr(start), -1});
  return fragments;
}

Result<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file,
                                       std::span<const uint8_t> cached_index) {
  CMDAI_ASSIGN_OR_RETURN(Vocab vocab, Vocab::from_gguf(file, cached_index));
  auto impl = std::make_shared<Impl>(std::move(vocab));
  if (impl->vocab.model() == VocabModel::kBytePairEncoding) {
    Result<BpeTokenizer> bpe = BpeTokenizer::create(impl->vocab);
    if (!bpe.ok()) {
      Error error = bpe.take_error();
      error.message = fmt::format("{}: {}", file.path(), error.message);
      return error;
    }
    impl->bpe.emplace(std::move(bpe).value());
  } else {
    impl->spm.emplace(impl->vocab);
  }
  impl->collect_special_tokens();
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Vocab& vocab = impl_->vocab;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special && vocab.add_bos() && vocab.bos_id() >= 0) ids.push_back(vocab.bos_id());
  // SentencePiece puts a space before the text and before text that follows a special token.
  bool after_special = true;
  for (const Fragment& fragment : impl_->split_special(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      after_special = true;
      continue;
    }
    if (impl_->bpe) {
      impl_->bpe->encode(fragment.text, ids);
    } else {
      impl_->spm->encode(fragment.text, vocab.add_space_prefix() && after_special, ids);
    }
    after_special = false;
  }
  if (add_special && vocab.add_eos() && vocab.eos_id() >= 0) ids.push_back(vocab.eos_id());
  return ids;
}

bool Tokenizer::append_piece(int32_t id, bool render_special, bool at_start,
                             std::string& out) const {
  const Vocab& vocab = impl_->vocab;
  if (!vocab.contains(id)) return false;
  const std::string_view text = vocab.text(id);
  const size_t before = out.size();
  switch (vocab.type(id)) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      if (render_special) out.append(text);
      break;
    case TokenType::kUserDefined:
      out.append(text);
      break;
    case TokenType::kUnused:
      break;
    case TokenType::kByte:
      if (const std::optional<uint8_t> byte = parse_byte_token(text)) {
        out.push_back(static_cast<char>(*byte));
      } else {
        out.append(text);
      }
      break;
    case TokenType::kNormal:
    case TokenType::kUndefined:
      if (impl_->bpe) {
        append_byte_level_decoded(text, out);
        break;
      }
      for (size_t pos = 0; pos < text.size();) {
        const bool space = text.substr(pos).starts_with(kSpmSpace);
        if (space && !(at_start && pos == 0 && vocab.add_space_prefix())) out.push_back(' ');
        if (!space) out.push_back(text[pos]);
        pos += space ? kSpmSpace.size() : 1;
      }
      break;
  }
  return out.size() > before;
}

std::string Tokenizer::token_to_bytes(int32_t id) const {
  std::string out;
  append_piece(id, /*render_special=*/true, /*at_start=*/false, out);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool at_start = true;
  for (int32_t id : ids) {
    if (append_piece(id, render_special, at_start, out)) at_start = false;
  }
  return out;
}

bool Tokenizer::is_eog(int32_t id) const { return impl_->vocab.is_eog(id); }
int32_t Tokenizer::bos_id() const { return impl_->vocab.bos_id(); }
int32_t Tokenizer::eos_id() const { return impl_->vocab.eos_id(); }
int64_t Tokenizer::vocab_size() const { return impl_->vocab.size(); }
const std::string& Tokenizer::chat_template() const { return impl_->vocab.chat_template(); }
std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  return impl_->vocab.find(text);
}
const Vocab& Tokenizer::vocab() const { return impl_->vocab; }

}  // namespace cmdai::tokenizer
