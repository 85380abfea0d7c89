// How the next token is picked: one set of settings shared by the config, the command generator,
// the inference backend and the engine's sampler (each layer passes it on whole, never field by
// field). The defaults are "off": plain greedy decoding.
#pragma once

#include <cstdint>

namespace cmdai {

struct SamplingParams {
  float temperature = 0.0f;     // <= 0: greedy (argmax, ties to the lower id)
  int32_t top_k = 0;            // keep the k most likely; <= 0: off
  float top_p = 1.0f;           // keep the smallest set whose probability reaches p; >= 1: off
  float min_p = 0.0f;           // drop tokens below min_p * p(most likely); <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the window
  int32_t repeat_window = 64;   // how many of the last tokens the penalty looks at
  uint64_t seed = 42;
};

}  // namespace cmdai
