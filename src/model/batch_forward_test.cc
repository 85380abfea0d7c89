// forward_batch: one decode step of several sequences, each row as forward() gives it alone (the
// property `cmdai serve` relies on for answers that do not depend on what else is running).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "base/testdata.h"
#include "device/test_devices.h"
#include "gguf/gguf_file.h"
#include "model/model.h"

namespace cmdai::model {
namespace {

class BatchForward : public ::testing::TestWithParam<device::DeviceChoice> {
 protected:
  void SetUp() override {
    auto dir = find_testdata_dir(CMDAI_SOURCE_DIR);
    if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
    std::string why;
    device_ = device::open_test_device(GetParam(), &why);
    if (!device_) GTEST_SKIP() << why;
    auto file = gguf::GgufFile::open((*dir / "tiny-qwen2-q4_k_m.gguf").string());
    ASSERT_TRUE(file.ok()) << file.error().to_string();
    file_ = std::make_unique<gguf::GgufFile>(std::move(file).value());
    auto model = Model::load(*file_, *device_);
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    model_ = std::move(model).value();
    vocab_ = model_->hparams().vocab_size;
  }

  // A prompt of `length` tokens derived from `seed`.
  std::vector<int32_t> prompt(int length, int seed) const {
    std::vector<int32_t> tokens(static_cast<size_t>(length));
    for (int i = 0; i < length; ++i) {
      tokens[static_cast<size_t>(i)] = static_cast<int32_t>((i * 131 + seed * 977) % 5000 + 10);
    }
    return tokens;
  }

  std::unique_ptr<device::Device> device_;
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<Model> model_;
  int64_t vocab_ = 0;
};

TEST_P(BatchForward, EachRowEqualsThatSequenceRunAlone) {
  // Three sequences at different positions, prefilled separately, then one step each: batched,
  // and alone on copies of the same caches.
  const int lengths[] = {5, 17, 9};
  const int32_t next_tokens[] = {42, 4242, 777};
  std::vector<std::unique_ptr<KvState>> batched, alone;
  std::vector<float> scratch(static_cast<size_t>(vocab_));
  for (int i = 0; i < 3; ++i) {
    for (auto* caches : {&batched, &alone}) {
      auto cache = model_->make_cache(32);
      ASSERT_TRUE(cache.ok());
      ASSERT_TRUE(
          model_
              ->forward(prompt(lengths[i], i), 0, **cache, LogitsRequest::kLastRow, scratch.data())
              .ok());
      caches->push_back(std::move(cache).value());
    }
  }
  std::vector<device::BatchSlot> slots;
  for (int i = 0; i < 3; ++i) slots.push_back({next_tokens[i], lengths[i], batched[i].get()});
  std::vector<float> batch_logits(static_cast<size_t>(3 * vocab_));
  ASSERT_TRUE(model_->forward_batch(slots, batch_logits.data()).ok());

  for (int i = 0; i < 3; ++i) {
    std::vector<float> single(static_cast<size_t>(vocab_));
    ASSERT_TRUE(model_
                    ->forward(std::span<const int32_t>(&next_tokens[i], 1), lengths[i], *alone[i],
                              LogitsRequest::kLastRow, single.data())
                    .ok());
    EXPECT_EQ(batched[i]->n_filled(), lengths[i] + 1);
    float max_delta = 0;
    for (int64_t v = 0; v < vocab_; ++v) {
      max_delta = std::max(max_delta, std::fabs(batch_logits[i * vocab_ + v] - single[v]));
    }
    // Bit-equal: greedy answers from `cmdai serve` must not depend on the other requests.
    EXPECT_EQ(max_delta, 0.0f) << "sequence " << i;
  }
}

TEST_P(BatchForward, RejectsSharedCachesAndBadSlots) {
  auto a = model_->make_cache(8);
  ASSERT_TRUE(a.ok());
  std::vector<float> logits(static_cast<size_t>(2 * vocab_));
  ASSERT_TRUE(model_->forward(prompt(2, 1), 0, **a, LogitsRequest::kLastRow, logits.data()).ok());
  const device::BatchSlot shared[] = {{5, 2, a->get()}, {6, 2, a->get()}};
  auto status = model_->forward_batch(shared, logits.data());
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("share one cache"), std::string::npos);

  const device::BatchSlot gap[] = {{5, 4, a->get()}};  // position past the cached ones
  EXPECT_EQ(model_->forward_batch(gap, logits.data()).error().code, ErrorCode::kInvalidArgument);
  const device::BatchSlot out_of_vocab[] = {{static_cast<int32_t>(vocab_), 2, a->get()}};
  EXPECT_EQ(model_->forward_batch(out_of_vocab, logits.data()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(model_->forward_batch({}, logits.data()).error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Devices, BatchForward, ::testing::ValuesIn(device::devices_under_test()),
                         [](const auto& info) { return device::device_choice_name(info.param); });

}  // namespace
}  // namespace cmdai::model
