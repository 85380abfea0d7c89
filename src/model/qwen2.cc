// Qwen2: a pre-norm llama-style decoder whose q/k/v projections carry biases and whose RoPE
// rotates the two halves of each head (NEOX style).
#include "model/transformer.h"

namespace cmdai::model {
namespace {

class Qwen2Model final : public Transformer {
 public:
  Qwen2Model(HParams hp, Weights weights) : Transformer(std::move(hp), std::move(weights)) {}

 private:
  void run_layers(const Pass& pass) override {
    for (int64_t layer = 0; layer < hp_.n_layers; ++layer) {
      attention_block(pass, layer, cpu::RopeMode::kNeox);  // biases bound as required at load
      const bool last = layer == hp_.n_layers - 1;
      ffn_block(pass, layer, last ? keep_output_rows(pass) : pass.n_tokens);
    }
  }
};

}  // namespace

std::unique_ptr<Model> make_qwen2_model(HParams hp, Weights weights) {
  return std::unique_ptr<Model>(new Qwen2Model(std::move(hp), std::move(weights)));
}

}  // namespace cmdai::model
