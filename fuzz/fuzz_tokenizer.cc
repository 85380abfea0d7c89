// libFuzzer target: the Qwen2.5 byte-level BPE tokenizer (the real vocabulary from the shared test
// data) on arbitrary bytes. Plain-text encoding must round-trip every byte string exactly, and
// decoding arbitrary ids must never read outside the tables.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/testdata.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace {

const cmdai::tokenizer::Tokenizer* g_tokenizer = nullptr;

void fail(const std::string& message) {
  std::fprintf(stderr, "fuzz_tokenizer: %s\n", message.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto dir = cmdai::find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!dir) fail("no test data: set CMDAI_TESTDATA or put it at ../shared/testdata");
  auto path = (*dir / "ggml-vocab-qwen2.5-coder.gguf").string();
  static std::optional<cmdai::gguf::GgufFile> file;
  auto opened = cmdai::gguf::GgufFile::open(path);
  if (!opened.ok()) fail(opened.error().message);
  file.emplace(std::move(*opened));
  auto tokenizer = cmdai::tokenizer::Tokenizer::from_gguf(*file);
  if (!tokenizer.ok()) fail(tokenizer.error().message);
  g_tokenizer = new cmdai::tokenizer::Tokenizer(std::move(*tokenizer));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto ids = g_tokenizer->encode(text, /*add_special=*/false, /*parse_special=*/false);
  if (g_tokenizer->decode(ids) != text) fail("plain text did not round-trip");
  (void)g_tokenizer->encode(text, /*add_special=*/true, /*parse_special=*/true);

  // The same bytes read as token ids, in and out of range.
  std::vector<int32_t> raw(size / 4);
  for (size_t i = 0; i < raw.size(); ++i) {
    raw[i] =
        static_cast<int32_t>(uint32_t(data[4 * i]) | uint32_t(data[4 * i + 1]) << 8 |
                             uint32_t(data[4 * i + 2]) << 16 | uint32_t(data[4 * i + 3]) << 24);
  }
  (void)g_tokenizer->decode(raw, /*render_special=*/true);
  return 0;
}
