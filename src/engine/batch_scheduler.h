// Continuous batching for `cmdai serve`: many generation requests share one model. Every step runs
// one forward pass over the next token of each active sequence (each with its own KV cache and
// position); new requests join between steps, and a prompt prefix that many requests share (the
// system prompt) is computed once and copied into each new sequence's cache.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/result.h"
#include "engine/generator.h"
#include "model/model.h"

namespace cmdai::engine {

struct BatchOptions {
  int max_active = 8;   // sequences decoded together in one step
  int max_queued = 64;  // requests waiting for a free slot; more are refused
};

// One request. `request.cancel` (if set) and everything the callbacks capture must stay valid
// until `on_done` has run. The callbacks run on the scheduler's thread and must not block: a slow
// consumer stalls every sequence. `request.on_token` returning false ends the sequence
// (StopReason::kCallback).
struct BatchJob {
  GenerateRequest request;
  std::function<void(Result<GenerateResult>)> on_done;  // called exactly once
};

struct BatchStats {
  int active = 0;          // sequences in the decode batch
  int queued = 0;          // submitted, not yet started
  int64_t completed = 0;   // on_done called (success or error)
  int64_t rejected = 0;    // submit() refused: queue full or shut down
  int64_t steps = 0;       // batched decode steps run
  int64_t step_slots = 0;  // sum over steps of the sequences in them (step_slots / steps = batch)
};

class BatchScheduler {
 public:
  // Starts the scheduler's thread. The model must outlive the scheduler and is used by no one
  // else meanwhile (one forward pass at a time).
  BatchScheduler(model::Model& model, BatchOptions options);
  ~BatchScheduler();  // shutdown(true)
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Tokens that many prompts start with (e.g. the system prompt of a chat template): computed
  // once, before the next new sequence starts, and copied into every sequence whose prompt begins
  // with them. Replaces the previous shared prefix.
  void set_shared_prefix(std::vector<int32_t> tokens);

  // Queues a job. kResourceExhausted when max_queued jobs already wait (the caller answers 429 or
  // 503); kCancelled after shutdown. on_done is not called for a refused job.
  Status submit(BatchJob job);

  // Stops accepting; with cancel_in_flight, active and queued jobs end with kCancelled, else they
  // run to their end. Returns when the thread has stopped and every on_done has run.
  void shutdown(bool cancel_in_flight);

  BatchStats stats() const;

 private:
  struct Sequence;
  void run();
  void admit_new_sequences(std::unique_lock<std::mutex>& lock);
  Status start_sequence(Sequence& sequence);
  void step_active();
  void finish(Sequence& sequence, Result<GenerateResult> result);
  Status ensure_shared_prefix();

  model::Model& model_;
  BatchOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<BatchJob> queue_;  // guarded by mutex_
  std::vector<int32_t> pending_prefix_;
  bool prefix_changed_ = false;
  bool stopping_ = false;
  bool cancel_in_flight_ = false;
  BatchStats stats_;

  // Only the scheduler's thread touches these.
  std::vector<std::unique_ptr<Sequence>> active_;
  std::vector<int32_t> prefix_tokens_;
  std::unique_ptr<model::KvState> prefix_cache_;
  std::vector<float> logits_;  // [max_active, vocab_size]
  std::thread thread_;
};

}  // namespace cmdai::engine
