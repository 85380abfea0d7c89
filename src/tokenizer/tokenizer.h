// Text <-> token ids for a GGUF model: byte-level BPE ("gpt2", Qwen2) or SentencePiece ("llama"),
// with special-token parsing, BOS/EOS handling and end-of-generation detection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "tokenizer/vocab.h"

namespace cmdai::tokenizer {

// Immutable after loading; copies share the loaded tables and are safe to use from many threads.
// Nothing refers into the GgufFile, which may be closed afterwards.
class Tokenizer {
 public:
  // `cached_index`: Vocab::index_bytes() of an earlier load of this file, or empty (see Vocab).
  static Result<Tokenizer> from_gguf(const gguf::GgufFile& file,
                                     std::span<const uint8_t> cached_index = {});

  // `add_special`: BOS/EOS as the vocab asks (tokenizer.ggml.add_bos_token / add_eos_token).
  // `parse_special`: control tokens written in the text (e.g. "<|im_start|>") become their ids;
  // otherwise they are tokenized as plain text. User-defined tokens (e.g. "<tool_call>") are
  // always matched, as Hugging Face and llama.cpp do.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes a token stands for, control tokens included ("<|im_end|>"); "" for unknown ids.
  std::string token_to_bytes(int32_t id) const;

  // Concatenated bytes of `ids` (not necessarily valid UTF-8: a multi-byte character may be cut).
  // Control and unknown tokens are left out unless `render_special`; unused tokens and ids out of
  // range are always left out. SentencePiece's leading space is removed from the first piece.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  // Appends the text of one token as decode() renders it; `at_start` asks for the SentencePiece
  // leading-space removal. Returns false when the token renders as nothing.
  bool append_piece(int32_t id, bool render_special, bool at_start, std::string& out) const;

  bool is_eog(int32_t id) const;
  int32_t bos_id() const;  // -1 when the vocab has none
  int32_t eos_id() const;
  int64_t vocab_size() const;
  const std::string& chat_template() const;
  std::optional<int32_t> find_token(std::string_view text) const;
  const Vocab& vocab() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace cmdai::tokenizer
