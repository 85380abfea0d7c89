// Transformer hyperparameters read from a GGUF file's `<arch>.*` metadata, validated once so the
// forward pass can trust every size.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "device/device.h"
#include "gguf/gguf_file.h"

namespace cmdai::model {

enum class Architecture { kLlama, kQwen2 };

// The shape every device runs, plus which architecture the file declares.
struct HParams : device::TransformerShape {
  Architecture arch = Architecture::kLlama;
  std::string arch_name;  // as spelled in general.architecture
};

// kUnsupported for an architecture other than llama/qwen2; kCorruptFile or kNotFound naming the
// key for missing, mistyped or inconsistent values.
Result<HParams> read_hparams(const gguf::GgufFile& file);

}  // namespace cmdai::model
