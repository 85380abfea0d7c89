// Test support: small synthetic vocabularies (byte-level BPE and SentencePiece) described as plain
// structs, so a test can break one field and check the loader's answer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/testing_vocab.h"
#include "tokenizer/unicode.h"

namespace cmdai::tokenizer::testing {

struct VocabSpec {
  std::optional<std::string> model = "gpt2";
  std::optional<std::string> pre = "qwen2";
  std::optional<std::vector<std::string>> tokens;
  std::optional<std::vector<int32_t>> types;
  std::optional<std::vector<float>> scores;
  std::optional<std::vector<std::string>> merges;
  std::optional<uint32_t> bos_id;
  std::optional<uint32_t> eos_id;
  std::optional<uint32_t> padding_id;
  std::optional<bool> add_bos;

  std::vector<uint8_t> bytes() const {
    VocabGgufBuilder builder;
    if (model) builder.string("tokenizer.ggml.model", *model);
    if (pre) builder.string("tokenizer.ggml.pre", *pre);
    if (tokens) builder.strings("tokenizer.ggml.tokens", *tokens);
    if (types) builder.i32s("tokenizer.ggml.token_type", *types);
    if (scores) builder.f32s("tokenizer.ggml.scores", *scores);
    if (merges) builder.strings("tokenizer.ggml.merges", *merges);
    if (bos_id) builder.u32("tokenizer.ggml.bos_token_id", *bos_id);
    if (eos_id) builder.u32("tokenizer.ggml.eos_token_id", *eos_id);
    if (padding_id) builder.u32("tokenizer.ggml.padding_token_id", *padding_id);
    if (add_bos) builder.boolean("tokenizer.ggml.add_bos_token", *add_bos);
    return builder.bytes();
  }
};

// The byte-level text of one byte, as GPT-2 vocabularies spell it.
inline std::string byte_symbol(uint8_t byte) {
  std::string symbol;
  append_utf8(byte_to_codepoint(byte), symbol);
  return symbol;
}

// 256 byte tokens (ids 0-255), then he(256) ll(257) hell(258) hello(259), <|im_end|>(260, control,
// eos), <|endoftext|>(261, control, bos) and <tool_call>(262, user-defined).
inline VocabSpec small_bpe_spec() {
  VocabSpec spec;
  std::vector<std::string> tokens;
  for (int byte = 0; byte < 256; ++byte) tokens.push_back(byte_symbol(static_cast<uint8_t>(byte)));
  for (const char* extra :
       {"he", "ll", "hell", "hello", "<|im_end|>", "<|endoftext|>", "<tool_call>"}) {
    tokens.push_back(extra);
  }
  std::vector<int32_t> types(tokens.size(), 1);
  types[260] = 3;
  types[261] = 3;
  types[262] = 4;
  spec.tokens = tokens;
  spec.types = types;
  spec.merges = std::vector<std::string>{"h e", "l l", "he ll", "hell o"};
  spec.bos_id = 261;
  spec.eos_id = 260;
  return spec;
}

// <unk>(0) <s>(1) </s>(2), <0x00>..<0xFF>(3-258), then ▁(259) a(260) b(261) ▁a(262) ab(263)
// ▁ab(264), scores rising with length so longer pieces win.
inline VocabSpec small_spm_spec() {
  VocabSpec spec;
  spec.model = "llama";
  spec.pre = std::nullopt;
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int byte = 0; byte < 256; ++byte) {
    tokens.push_back(fmt::format("<0x{:02X}>", byte));
    types.push_back(6);
    scores.push_back(0);
  }
  const std::string space = "\xE2\x96\x81";
  const std::vector<std::pair<std::string, float>> pieces = {
      {space, -1}, {"a", -2}, {"b", -3}, {space + "a", -4}, {"ab", -5}, {space + "ab", -1.5f}};
  for (const auto& [text, score] : pieces) {
    tokens.push_back(text);
    types.push_back(1);
    scores.push_back(score);
  }
  spec.tokens = tokens;
  spec.types = types;
  spec.scores = scores;
  spec.bos_id = 1;
  spec.eos_id = 2;
  return spec;
}

// Parses spec bytes kept alive by the caller.
inline Result<gguf::GgufFile> parse_spec(const std::vector<uint8_t>& bytes) {
  return gguf::GgufFile::parse(bytes, "synthetic-vocab.gguf");
}

}  // namespace cmdai::tokenizer::testing
