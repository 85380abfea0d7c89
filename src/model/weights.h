// Every tensor of a decoder-only transformer bound by name to zero-copy views into the mapped
// GGUF file, each checked against the hyperparameters before the first forward pass.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "device/device.h"
#include "gguf/gguf_file.h"
#include "model/hparams.h"

namespace cmdai::model {

struct BindOptions {
  bool require_qkv_bias = false;  // qwen2 always has q/k/v biases; llama may have them
};

// Fills spec->token_embd, output_norm, output, tied_output and layers from the file's tensors.
// Errors: kCorruptFile for a missing required tensor or one with the wrong shape (naming the
// tensor, and the expected and actual shapes), kUnsupported naming a type without kernels.
Status bind_weights(const gguf::GgufFile& file, const HParams& hp, const BindOptions& options,
                    device::ModelSpec* spec);

}  // namespace cmdai::model
