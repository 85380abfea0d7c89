// The bridge between HTTP handlers and the engine's batch scheduler: a checked CompletionRequest
// becomes a BatchJob, and its tokens come back through a CompletionStream the handler's thread
// reads (the scheduler's callbacks only append to it, never block).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/line_answer_constraint.h"
#include "base/result.h"
#include "engine/batch_scheduler.h"
#include "engine/model_loader.h"
#include "serve/completion_request.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::serve {

// One submitted request as its handler sees it.
class CompletionStream {
 public:
  // Waits until text is ready or the generation ended; moves the released text into *piece.
  // false once the generation has ended and every piece was taken.
  bool next(std::string* piece);
  // Like next(), but returns kIdle with *piece empty when nothing came within timeout_ms.
  enum class Next { kPiece, kEnded, kIdle };
  Next next_within(std::string* piece, int timeout_ms);
  // Blocks until the end; the outcome, or the engine's error.
  Result<CompletionOutcome> wait();
  // Whether the generation ended within timeout_ms (without taking anything).
  bool ended_within(int timeout_ms);
  // The client went away: the sequence stops at its next step (or prefill slice).
  void cancel();

 private:
  friend class CompletionService;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string pending_;
  bool done_ = false;
  std::optional<Result<engine::GenerateResult>> result_;
  std::atomic<bool> cancel_{false};
  double submit_ms_ = 0;
  std::optional<LineAnswerConstraint> constraint_;  // answer_lines > 0
};

struct ServiceOptions {
  int parallel = 8;  // sequences decoded together
  int queue = 64;    // requests waiting beyond those
  int request_timeout_ms = 300'000;
  int max_threads = 4;  // for classifying the vocabulary once
};

class CompletionService {
 public:
  // Takes the opened model and its tokenizer; sets the shared prefix to the default chat system
  // turn, which every chat request without its own system message starts with.
  CompletionService(engine::OpenedModel opened, tokenizer::Tokenizer tokenizer,
                    ServiceOptions options);
  ~CompletionService();

  // kInvalidArgument for a prompt that is empty or does not fit the context; kResourceExhausted
  // when the queue is full; kCancelled once shut down.
  Result<std::shared_ptr<CompletionStream>> start(const CompletionRequest& request);

  // New requests get kCancelled; running ones go on.
  void shutdown_accepting() { shutting_down_.store(true); }
  // Stops accepting; lets running requests finish unless cancel_in_flight.
  void shutdown(bool cancel_in_flight);
  bool shutting_down() const { return shutting_down_.load(); }
  engine::BatchStats stats() const { return scheduler_->stats(); }
  int64_t context_length() const;
  device::DeviceKind device_kind() const { return opened_.device->kind(); }

 private:
  engine::GenerateRequest make_request(const CompletionRequest& request,
                                       const std::shared_ptr<CompletionStream>& stream) const;

  engine::OpenedModel opened_;
  tokenizer::Tokenizer tokenizer_;
  ServiceOptions options_;
  std::vector<int32_t> eog_ids_;
  std::unique_ptr<LineAnswerConstraint> constraint_;  // classified once, copied per request
  std::atomic<bool> shutting_down_{false};
  std::unique_ptr<engine::BatchScheduler> scheduler_;  // last: stops before the rest goes
};

}  // namespace cmdai::serve
