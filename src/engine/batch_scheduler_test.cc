#include "engine/batch_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/testdata.h"
#include "device/cpu/cpu_device.h"

namespace cmdai::engine {
namespace {

// stories260K (F32): batched answers against the same requests through the one-request Generator.
class BatchSchedulerOnStories : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = find_testdata_dir(CMDAI_SOURCE_DIR);
    if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
    auto file = gguf::GgufFile::open((*dir / "stories260K.gguf").string());
    ASSERT_TRUE(file.ok()) << file.error().to_string();
    file_ = std::make_unique<gguf::GgufFile>(std::move(file).value());
    auto model = model::Model::load(*file_, *device_);
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    model_ = std::move(model).value();
    std::ifstream in(*dir / "golden" / "stories260K.once-bos.json");
    const auto golden = nlohmann::json::parse(in);
    prompt_ = golden["tokens"].get<std::vector<int32_t>>();
    greedy_ = golden["greedy"].get<std::vector<int32_t>>();
  }

  // Request i: the golden prompt plus i tokens of its continuation, sampled when i is odd.
  GenerateRequest request(int i, int32_t max_tokens) const {
    GenerateRequest r;
    r.prompt = prompt_;
    r.prompt.insert(r.prompt.end(), greedy_.begin(), greedy_.begin() + (i % 7));
    r.max_tokens = max_tokens;
    if (i % 2 == 1) r.sampling = SamplerConfig{0.9f, 40, 0.95f, 0.05f, 1.0f, 64, 100u + i};
    return r;
  }

  Result<GenerateResult> alone(const GenerateRequest& r) {
    Generator generator(*model_);
    return generator.generate(r);
  }

  std::unique_ptr<device::Device> device_ = cpu::make_cpu_device(2);
  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<model::Model> model_;
  std::vector<int32_t> prompt_;
  std::vector<int32_t> greedy_;
};

// Collects on_done results; wait() returns once `expected` arrived.
class Results {
 public:
  std::function<void(Result<GenerateResult>)> slot(int id) {
    return [this, id](Result<GenerateResult> result) {
      std::lock_guard<std::mutex> lock(mutex_);
      results_.emplace(id, std::move(result));
      arrived_.notify_all();
    };
  }
  std::map<int, Result<GenerateResult>>& wait(size_t expected) {
    std::unique_lock<std::mutex> lock(mutex_);
    arrived_.wait_for(lock, std::chrono::seconds(60), [&] { return results_.size() >= expected; });
    return results_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<int, Result<GenerateResult>> results_;
};

TEST_F(BatchSchedulerOnStories, ConcurrentAnswersEqualEachRequestAlone) {
  BatchScheduler scheduler(*model_, BatchOptions{4, 32});
  Results results;
  const int n_jobs = 12;
  for (int i = 0; i < n_jobs; ++i) {
    ASSERT_TRUE(scheduler.submit({request(i, 8 + i % 5), results.slot(i)}).ok());
  }
  auto& done = results.wait(n_jobs);
  ASSERT_EQ(done.size(), static_cast<size_t>(n_jobs));
  for (int i = 0; i < n_jobs; ++i) {
    auto expected = alone(request(i, 8 + i % 5));
    ASSERT_TRUE(expected.ok());
    ASSERT_TRUE(done.at(i).ok()) << done.at(i).error().to_string();
    EXPECT_EQ(done.at(i)->tokens, expected->tokens) << "request " << i;
    EXPECT_EQ(done.at(i)->stop_reason, expected->stop_reason) << "request " << i;
    EXPECT_EQ(done.at(i)->timings.generated_tokens, expected->timings.generated_tokens);
  }
  // Request 0 is the golden prompt, greedy: llama.cpp's own continuation.
  EXPECT_EQ(done.at(0)->tokens, std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 8));
  const BatchStats stats = scheduler.stats();
  EXPECT_EQ(stats.completed, n_jobs);
  EXPECT_EQ(stats.active, 0);
  EXPECT_GT(stats.step_slots, stats.steps) << "no step ran more than one sequence";
}

TEST_F(BatchSchedulerOnStories, SharedPrefixIsComputedOnceAndReused) {
  BatchScheduler scheduler(*model_, BatchOptions{4, 32});
  scheduler.set_shared_prefix(std::vector<int32_t>(prompt_.begin(), prompt_.begin() + 3));
  Results results;
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(scheduler.submit({request(2 * i, 6), results.slot(i)}).ok());
  auto& done = results.wait(4);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(done.at(i).ok());
    EXPECT_EQ(done.at(i)->timings.cached_prompt_tokens, 3);
    EXPECT_EQ(done.at(i)->tokens, alone(request(2 * i, 6))->tokens);
  }
}

TEST_F(BatchSchedulerOnStories, StreamedPiecesAndStopSequencesMatchTheGenerator) {
  BatchScheduler scheduler(*model_, BatchOptions{2, 8});
  GenerateRequest r = request(0, 24);
  r.token_text = [](int32_t id) { return std::string(1, static_cast<char>('a' + id % 26)); };
  auto expected = alone(r);
  ASSERT_TRUE(expected.ok());
  ASSERT_GE(expected->text.size(), 6u);
  r.stop = {expected->text.substr(4, 2)};  // cuts the text at its fifth byte
  auto expected_stopped = alone(r);
  std::string streamed;
  r.on_token = [&](int32_t, std::string_view piece) {
    streamed.append(piece);
    return true;
  };
  Results results;
  ASSERT_TRUE(scheduler.submit({r, results.slot(0)}).ok());
  auto& done = results.wait(1);
  ASSERT_TRUE(done.at(0).ok());
  EXPECT_EQ(done.at(0)->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(done.at(0)->text, expected_stopped->text);
  EXPECT_EQ(streamed, done.at(0)->text);
}

TEST_F(BatchSchedulerOnStories, FullQueueRefusesAndCancelEndsOnlyThatRequest) {
  BatchScheduler scheduler(*model_, BatchOptions{1, 1});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_token{false};
  std::atomic<bool> cancel{false};
  GenerateRequest blocking = request(0, 20);
  blocking.cancel = &cancel;
  blocking.on_token = [&](int32_t, std::string_view) {
    first_token = true;
    released.wait();  // holds the only slot until the test has filled the queue
    return true;
  };
  Results results;
  ASSERT_TRUE(scheduler.submit({blocking, results.slot(0)}).ok());
  while (!first_token) std::this_thread::yield();
  ASSERT_TRUE(scheduler.submit({request(2, 4), results.slot(1)}).ok());  // waits in the queue
  Status refused = scheduler.submit({request(4, 4), results.slot(2)});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  cancel = true;
  release.set_value();
  auto& done = results.wait(2);
  ASSERT_FALSE(done.at(0).ok());
  EXPECT_EQ(done.at(0).error().code, ErrorCode::kCancelled);
  ASSERT_TRUE(done.at(1).ok());
  EXPECT_EQ(done.at(1)->tokens, alone(request(2, 4))->tokens);
  EXPECT_EQ(done.count(2), 0u);
  EXPECT_EQ(scheduler.stats().rejected, 1);
}

TEST_F(BatchSchedulerOnStories, ExpiredDeadlineAndBadPromptsEndWithTypedErrors) {
  BatchScheduler scheduler(*model_, BatchOptions{2, 8});
  GenerateRequest late = request(0, 8);
  late.deadline = Deadline::after_ms(-1);
  GenerateRequest empty = request(0, 8);
  empty.prompt.clear();
  Results results;
  ASSERT_TRUE(scheduler.submit({late, results.slot(0)}).ok());
  ASSERT_TRUE(scheduler.submit({empty, results.slot(1)}).ok());
  ASSERT_TRUE(scheduler.submit({request(1, 3), results.slot(2)}).ok());
  auto& done = results.wait(3);
  EXPECT_EQ(done.at(0).error().code, ErrorCode::kTimeout);
  EXPECT_EQ(done.at(1).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(done.at(2).ok());
}

TEST_F(BatchSchedulerOnStories, ShutdownFinishesOrCancelsEverythingAndRefusesMore) {
  Results finished, cancelled;
  {
    BatchScheduler scheduler(*model_, BatchOptions{2, 16});
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(scheduler.submit({request(i, 6), finished.slot(i)}).ok());
    scheduler.shutdown(/*cancel_in_flight=*/false);
    EXPECT_EQ(scheduler.submit({request(0, 6), finished.slot(9)}).error().code,
              ErrorCode::kCancelled);
  }
  auto& all = finished.wait(5);
  ASSERT_EQ(all.size(), 5u);
  for (auto& [id, result] : all) EXPECT_TRUE(result.ok()) << id;

  BatchScheduler scheduler(*model_, BatchOptions{1, 16});
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(scheduler.submit({request(i, 30), cancelled.slot(i)}).ok());
  scheduler.shutdown(/*cancel_in_flight=*/true);
  auto& ended = cancelled.wait(6);
  ASSERT_EQ(ended.size(), 6u);  // every on_done ran exactly once, before shutdown returned
  int n_cancelled = 0;
  for (auto& [id, result] : ended)
    n_cancelled += !result.ok() && result.error().code == ErrorCode::kCancelled;
  EXPECT_GE(n_cancelled, 1);
}

}  // namespace
}  // namespace cmdai::engine
