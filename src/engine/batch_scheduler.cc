#include "engine/batch_scheduler.h"

#include <algorithm>

#include "base/clock.h"
#include "engine/sequence_decoder.h"

namespace cmdai::engine {

// One admitted request: its job, its own KV cache and its decode state.
struct BatchScheduler::Sequence {
  explicit Sequence(BatchJob job_in) : job(std::move(job_in)), decoder(job.request) {}

  BatchJob job;  // decoder keeps a reference to job.request: a Sequence never moves
  SequenceDecoder decoder;
  std::unique_ptr<model::KvState> cache;
  GenerateTimings timings;
  double decode_start_ms = 0;
};

BatchScheduler::BatchScheduler(model::Model& model, BatchOptions options)
    : model_(model), options_(options) {
  options_.max_active =
      std::clamp(options_.max_active, 1, static_cast<int>(model::kMaxBatchTokens));
  options_.max_queued = std::max(options_.max_queued, 0);
  logits_.resize(static_cast<size_t>(options_.max_active * model_.hparams().vocab_size));
  thread_ = std::thread([this] { run(); });
}

BatchScheduler::~BatchScheduler() { shutdown(true); }

void BatchScheduler::set_shared_prefix(std::vector<int32_t> tokens) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_prefix_ = std::move(tokens);
  prefix_changed_ = true;
}

Status BatchScheduler::submit(BatchJob job) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) {
    ++stats_.rejected;
    return make_error(ErrorCode::kCancelled, "the server is shutting down");
  }
  const int free_slots = options_.max_active - stats_.active;
  if (static_cast<int>(queue_.size()) >= options_.max_queued + std::max(free_slots, 0)) {
    ++stats_.rejected;
    return make_error(ErrorCode::kResourceExhausted,
                      "{} requests are running and {} waiting, the most this server takes",
                      stats_.active, queue_.size());
  }
  queue_.push_back(std::move(job));
  ++stats_.queued;
  wake_.notify_one();
  return ok_status();
}

void BatchScheduler::shutdown(bool cancel_in_flight) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    cancel_in_flight_ = cancel_in_flight;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

BatchStats BatchScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void BatchScheduler::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
    if (stopping_ && cancel_in_flight_) {
      std::deque<BatchJob> queued = std::move(queue_);
      queue_.clear();
      stats_.queued = 0;
      lock.unlock();
      for (BatchJob& job : queued) {
        job.on_done(make_error(ErrorCode::kCancelled, "the server is shutting down"));
      }
      while (!active_.empty()) {
        finish(*active_.back(), make_error(ErrorCode::kCancelled, "the server is shutting down"));
      }
      lock.lock();
      stats_.completed += static_cast<int64_t>(queued.size());
      break;
    }
    if (stopping_ && queue_.empty() && active_.empty()) break;
    admit_new_sequences(lock);
    lock.unlock();
    step_active();
    lock.lock();
  }
}

// Starts queued jobs while slots are free. Each prompt is prefilled here, between decode steps:
// a long prompt delays the running sequences' next token by its prefill time.
void BatchScheduler::admit_new_sequences(std::unique_lock<std::mutex>& lock) {
  while (static_cast<int>(active_.size()) < options_.max_active && !queue_.empty()) {
    auto sequence = std::make_unique<Sequence>(std::move(queue_.front()));
    queue_.pop_front();
    --stats_.queued;
    ++stats_.active;
    lock.unlock();
    active_.push_back(std::move(sequence));
    Sequence& started = *active_.back();
    Status status = start_sequence(started);
    if (!status.ok()) {
      finish(started, status.take_error());
    } else if (started.decoder.done()) {
      finish(started, GenerateResult{});
    }
    lock.lock();
  }
}

// The shared prefix's keys and values, computed when it was set or changed.
Status BatchScheduler::ensure_shared_prefix() {
  std::vector<int32_t> wanted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!prefix_changed_) return ok_status();
    prefix_changed_ = false;
    wanted = pending_prefix_;
  }
  prefix_tokens_.clear();
  prefix_cache_.reset();
  const int64_t context_length = model_.hparams().context_length;
  if (wanted.empty() || static_cast<int64_t>(wanted.size()) >= context_length) return ok_status();
  CMDAI_ASSIGN_OR_RETURN(prefix_cache_, model_.make_cache(static_cast<int64_t>(wanted.size())));
  std::vector<float> scratch(static_cast<size_t>(model_.hparams().vocab_size));
  CMDAI_TRY(
      model_.forward(wanted, 0, *prefix_cache_, model::LogitsRequest::kLastRow, scratch.data()));
  prefix_tokens_ = std::move(wanted);
  return ok_status();
}

// Makes the sequence's cache (starting from the shared prefix where its prompt begins with it),
// prefills the rest of the prompt and samples the first token.
Status BatchScheduler::start_sequence(Sequence& sequence) {
  const GenerateRequest& request = sequence.job.request;
  CMDAI_TRY(check_interrupts(request));
  const int64_t context_length = model_.hparams().context_length;
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  CMDAI_TRY(check_prompt_fits(request, context_length));
  const double prefill_start = now_ms();
  const int64_t n_ctx = model::kv_context_for(n_prompt, request.max_tokens, context_length);
  CMDAI_ASSIGN_OR_RETURN(sequence.cache, model_.make_cache(n_ctx));
  if (Status prefix = ensure_shared_prefix(); !prefix.ok()) {
    prefix_tokens_.clear();  // serve without it rather than fail every request
    prefix_cache_.reset();
  }
  // At least one prompt token must run to produce the first logits.
  int32_t reused = 0;
  if (!prefix_tokens_.empty() && prefix_tokens_.size() < request.prompt.size() &&
      std::equal(prefix_tokens_.begin(), prefix_tokens_.end(), request.prompt.begin())) {
    reused = static_cast<int32_t>(prefix_tokens_.size());
    CMDAI_TRY(sequence.cache->copy_prefix(*prefix_cache_, reused));
  }
  const std::span<const int32_t> prompt(request.prompt);
  std::span<float> first_logits(logits_.data(), static_cast<size_t>(model_.hparams().vocab_size));
  for (size_t begin = static_cast<size_t>(reused); begin < prompt.size();
       begin += Generator::kPrefillSliceTokens) {
    CMDAI_TRY(check_interrupts(request));
    const size_t count = std::min(Generator::kPrefillSliceTokens, prompt.size() - begin);
    CMDAI_TRY(model_.forward(prompt.subspan(begin, count), static_cast<int32_t>(begin),
                             *sequence.cache, model::LogitsRequest::kLastRow, first_logits.data()));
  }
  sequence.timings.prompt_tokens = static_cast<int32_t>(n_prompt);
  sequence.timings.cached_prompt_tokens = reused;
  sequence.timings.prefill_ms = now_ms() - prefill_start;
  sequence.decode_start_ms = now_ms();
  sequence.decoder.step(first_logits);
  return ok_status();
}

// One forward pass over the last token of every running sequence, then one sampling step each.
void BatchScheduler::step_active() {
  std::vector<Sequence*> stepping;
  std::vector<device::BatchSlot> slots;
  for (size_t i = 0; i < active_.size();) {
    Sequence& sequence = *active_[i];
    Status interrupted = check_interrupts(sequence.job.request);
    if (!interrupted.ok()) {
      finish(sequence, interrupted.take_error());  // removes it from active_
      continue;
    }
    if (sequence.cache->n_filled() >= sequence.cache->n_ctx()) {
      sequence.decoder.end(StopReason::kContextFull);
      finish(sequence, GenerateResult{});
      continue;
    }
    stepping.push_back(&sequence);
    slots.push_back(
        {sequence.decoder.last_token(), sequence.cache->n_filled(), sequence.cache.get()});
    ++i;
  }
  if (slots.empty()) return;
  const int64_t vocab = model_.hparams().vocab_size;
  Status status = model_.forward_batch(slots, logits_.data());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.steps;
    stats_.step_slots += static_cast<int64_t>(slots.size());
  }
  for (size_t i = 0; i < stepping.size(); ++i) {
    Sequence& sequence = *stepping[i];
    if (!status.ok()) {
      finish(sequence, status.error());
      continue;
    }
    sequence.decoder.step(std::span<float>(logits_.data() + static_cast<int64_t>(i) * vocab,
                                           static_cast<size_t>(vocab)));
    if (sequence.decoder.done()) finish(sequence, GenerateResult{});
  }
}

// Completes a sequence: the decoder's result (when `result` holds a value) or the error, then
// removes it from the running set. `result`'s value is only a marker: the decoder owns the result.
void BatchScheduler::finish(Sequence& sequence, Result<GenerateResult> result) {
  auto done = std::move(sequence.job.on_done);
  if (result.ok()) {
    GenerateResult generated = sequence.decoder.finish();
    generated.timings.prompt_tokens = sequence.timings.prompt_tokens;
    generated.timings.cached_prompt_tokens = sequence.timings.cached_prompt_tokens;
    generated.timings.prefill_ms = sequence.timings.prefill_ms;
    generated.timings.decode_ms = now_ms() - sequence.decode_start_ms;
    result = std::move(generated);
  }
  auto it = std::find_if(active_.begin(), active_.end(),
                         [&](const auto& running) { return running.get() == &sequence; });
  std::unique_ptr<Sequence> owned;
  if (it != active_.end()) {
    owned = std::move(*it);
    active_.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --stats_.active;
    ++stats_.completed;
  }
  // Only now: a client answered from on_done may submit its next request at once, and must find
  // this slot free (not a spurious "queue full").
  if (done) done(std::move(result));
}

}  // namespace cmdai::engine
