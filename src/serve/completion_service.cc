#include "serve/completion_service.h"

#include <fmt/format.h>

#include <chrono>
#include <span>

#include "base/clock.h"
#include "base/thread_pool.h"
#include "tokenizer/chat_template.h"

namespace cmdai::serve {

bool CompletionStream::next(std::string* piece) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return done_ || !pending_.empty(); });
  piece->clear();
  piece->swap(pending_);
  return !piece->empty() || !done_;
}

CompletionStream::Next CompletionStream::next_within(std::string* piece, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  piece->clear();
  if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [&] { return done_ || !pending_.empty(); })) {
    return Next::kIdle;
  }
  piece->swap(pending_);
  return !piece->empty() ? Next::kPiece : Next::kEnded;
}

Result<CompletionOutcome> CompletionStream::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return done_; });
  if (!result_->ok()) return result_->error();
  const engine::GenerateResult& r = result_->value();
  CompletionOutcome o;
  o.text = r.text;
  o.stop_reason = r.stop_reason;
  o.prompt_tokens = r.timings.prompt_tokens;
  o.completion_tokens = r.timings.generated_tokens;
  o.prefill_ms = r.timings.prefill_ms;
  o.decode_ms = r.timings.decode_ms;
  o.total_ms = now_ms() - submit_ms_;
  return o;
}

bool CompletionStream::ended_within(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return done_; });
}

void CompletionStream::cancel() { cancel_.store(true); }

CompletionService::CompletionService(engine::OpenedModel opened, tokenizer::Tokenizer tokenizer,
                                     ServiceOptions options)
    : opened_(std::move(opened)), tokenizer_(std::move(tokenizer)), options_(options) {
  const int64_t vocab_size = opened_.loaded.model->hparams().vocab_size;
  for (int32_t id = 0; id < vocab_size; ++id) {
    if (tokenizer_.is_eog(id)) eog_ids_.push_back(id);
  }
  {
    ThreadPool pool(std::max(1, options_.max_threads));
    constraint_ = std::make_unique<LineAnswerConstraint>(tokenizer_, &pool);
  }
  engine::BatchOptions batch;
  batch.max_active = options_.parallel;
  batch.max_queued = options_.queue;
  scheduler_ = std::make_unique<engine::BatchScheduler>(*opened_.loaded.model, batch);
  // A chat without its own system message starts with the default one: computed once.
  const std::string head = tokenizer::render_chatml({}, /*add_generation_prompt=*/false);
  scheduler_->set_shared_prefix(tokenizer_.encode(head, /*add_special=*/true,
                                                  /*parse_special=*/true));
}

CompletionService::~CompletionService() { shutdown(/*cancel_in_flight=*/true); }

int64_t CompletionService::context_length() const {
  return opened_.loaded.model->hparams().context_length;
}

engine::GenerateRequest CompletionService::make_request(
    const CompletionRequest& request, const std::shared_ptr<CompletionStream>& stream) const {
  engine::GenerateRequest g;
  g.prompt = tokenizer_.encode(request.prompt, /*add_special=*/true, /*parse_special=*/true);
  g.max_tokens = request.max_tokens;
  g.sampling = request.sampling;
  g.eog_ids = eog_ids_;
  g.stop = request.stop;
  g.deadline = options_.request_timeout_ms > 0 ? Deadline::after_ms(options_.request_timeout_ms)
                                               : Deadline::never();
  g.cancel = &stream->cancel_;
  const tokenizer::Tokenizer* tok = &tokenizer_;
  g.token_text = [tok](int32_t id) {
    std::string piece;
    tok->append_piece(id, /*render_special=*/false, /*at_start=*/false, piece);
    return piece;
  };
  // The stream is held by the callbacks, so it outlives on_done whatever the handler does.
  CompletionStream* s = stream.get();
  g.on_token = [s](int32_t id, std::string_view text) {
    std::lock_guard<std::mutex> lock(s->mutex_);
    if (!text.empty()) {
      s->pending_.append(text);
      s->changed_.notify_all();
    }
    if (s->constraint_) {
      s->constraint_->observe(id);
      if (s->constraint_->done()) return false;
    }
    return !s->cancel_.load();
  };
  if (request.answer_lines > 0) {
    stream->constraint_ = *constraint_;
    stream->constraint_->reset(request.answer_lines);
    g.logit_filter = [s](std::span<float> logits, int32_t step, int32_t steps_left) {
      s->constraint_->apply(logits, step, steps_left);
    };
  }
  return g;
}

Result<std::shared_ptr<CompletionStream>> CompletionService::start(
    const CompletionRequest& request) {
  if (shutting_down_) {
    return make_error(ErrorCode::kCancelled, "the server is shutting down");
  }
  auto stream = std::make_shared<CompletionStream>();
  stream->submit_ms_ = now_ms();
  engine::BatchJob job;
  job.request = make_request(request, stream);
  const int64_t n_ctx = context_length();
  if (job.request.prompt.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  }
  if (n_ctx > 0 && static_cast<int64_t>(job.request.prompt.size()) >= n_ctx) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the prompt has {} tokens; this model's context holds {}",
                      job.request.prompt.size(), n_ctx);
  }
  if (n_ctx > 0) {
    const int64_t room = n_ctx - static_cast<int64_t>(job.request.prompt.size());
    job.request.max_tokens = static_cast<int32_t>(std::min<int64_t>(job.request.max_tokens, room));
  }
  job.on_done = [stream](Result<engine::GenerateResult> result) {
    std::lock_guard<std::mutex> lock(stream->mutex_);
    stream->result_.emplace(std::move(result));
    stream->done_ = true;
    stream->changed_.notify_all();
  };
  CMDAI_TRY(scheduler_->submit(std::move(job)));
  return stream;
}

void CompletionService::shutdown(bool cancel_in_flight) {
  shutting_down_.store(true);
  if (scheduler_) scheduler_->shutdown(cancel_in_flight);
}

}  // namespace cmdai::serve
