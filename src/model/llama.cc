// Llama: a pre-norm decoder (RMSNorm, rotary attention with grouped-query heads, SwiGLU) whose
// RoPE rotates adjacent pairs; projections have no biases.
#include "model/transformer.h"

namespace cmdai::model {
namespace {

class LlamaModel final : public Transformer {
 public:
  LlamaModel(HParams hp, Weights weights) : Transformer(std::move(hp), std::move(weights)) {}

 private:
  void run_layers(const Pass& pass) override {
    for (int64_t layer = 0; layer < hp_.n_layers; ++layer) {
      attention_block(pass, layer, cpu::RopeMode::kNormal);
      const bool last = layer == hp_.n_layers - 1;
      ffn_block(pass, layer, last ? keep_output_rows(pass) : pass.n_tokens);
    }
  }
};

}  // namespace

std::unique_ptr<Model> make_llama_model(HParams hp, Weights weights) {
  return std::unique_ptr<Model>(new LlamaModel(std::move(hp), std::move(weights)));
}

}  // namespace cmdai::model
