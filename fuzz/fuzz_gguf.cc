// libFuzzer target: the GGUF reader on arbitrary bytes. Every input must end in a typed error or a
// file whose every accessor and tensor view stays inside the bytes; a tokenizer is built from any
// file that parses, since vocabulary metadata is the reader's largest consumer.
#include <cstddef>
#include <cstdint>
#include <span>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cmdai::gguf::GgufFile;
  auto file = GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
  if (!file.ok()) return 0;
  for (const auto& entry : file->metadata()) {
    (void)file->get_string(entry.key);
    (void)file->get_int(entry.key);
    (void)file->get_float(entry.key);
    (void)file->get_bool(entry.key);
    (void)file->get_string_array(entry.key);
    (void)file->get_int_array(entry.key);
    (void)file->get_float_array(entry.key);
  }
  for (const auto& tensor : file->tensors()) {
    // Every tensor the reader accepts lies wholly inside the input.
    const bool inside = tensor.data >= data && tensor.size_bytes <= size &&
                        tensor.data + tensor.size_bytes <= data + size;
    if (!inside) __builtin_trap();
    if (tensor.size_bytes > 0) {
      volatile uint8_t last = tensor.data[tensor.size_bytes - 1];
      (void)last;
    }
    (void)tensor.rows();
    (void)tensor.row_size_bytes();
  }
  (void)cmdai::tokenizer::Tokenizer::from_gguf(*file);
  return 0;
}
