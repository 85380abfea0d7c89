#include "serve/scheduler_backend.h"

#include "base/clock.h"

namespace cmdai::serve {

namespace {
// How often a waiting generation asks whether its client is still there.
constexpr int kClientCheckMs = 50;
}  // namespace

SchedulerBackend::SchedulerBackend(CompletionService& service, std::string model_name,
                                   ModelVariant variant, ClientGone client_gone)
    : service_(service),
      model_name_(std::move(model_name)),
      variant_(variant),
      client_gone_(std::move(client_gone)) {}

Result<std::string> SchedulerBackend::infer(std::string_view prompt, const EmbeddedConfig& config) {
  return infer_stream(prompt, config, [](std::string_view) { return true; });
}

Result<std::string> SchedulerBackend::infer_stream(std::string_view prompt,
                                                   const EmbeddedConfig& config,
                                                   const PieceCallback& on_piece) {
  const double start_ms = now_ms();
  CompletionRequest request;
  request.prompt = std::string(prompt);
  request.max_tokens = config.max_tokens;
  request.sampling = config.sampling;
  request.stop = config.stop;
  request.answer_lines = config.answer_lines;
  CMDAI_ASSIGN_OR_RETURN(std::shared_ptr<CompletionStream> stream, service_.start(request));
  double first_token_ms = 0;
  double checked_ms = start_ms;
  bool client_gone = false;
  std::string piece;
  for (;;) {
    const auto next = stream->next_within(&piece, kClientCheckMs);
    if (next == CompletionStream::Next::kEnded) break;
    if (client_gone_ && !client_gone && now_ms() - checked_ms >= kClientCheckMs) {
      checked_ms = now_ms();
      if (client_gone_()) {
        client_gone = true;
        stream->cancel();  // its slot (or queue place) frees at the sequence's next step
      }
    }
    if (next == CompletionStream::Next::kIdle) continue;
    if (first_token_ms == 0) first_token_ms = now_ms() - start_ms;
    // The answer is complete: the sequence ends at its next step; the text so far is the answer.
    if (!on_piece(piece)) stream->cancel();
  }
  auto outcome = stream->wait();
  if (client_gone) return make_error(ErrorCode::kCancelled, "the client hung up");
  if (!outcome.ok() && outcome.error().code == ErrorCode::kCancelled && !service_.shutting_down()) {
    return std::string();  // stopped by on_piece: the caller kept what it needed
  }
  if (!outcome.ok()) return outcome.take_error();
  std::lock_guard<std::mutex> lock(mutex_);
  timings_ = {};
  timings_.prefill_ms = outcome->prefill_ms;
  timings_.first_token_ms = first_token_ms;
  timings_.decode_ms = outcome->decode_ms;
  timings_.total_ms = now_ms() - start_ms;
  timings_.prompt_tokens = outcome->prompt_tokens;
  timings_.generated_tokens = outcome->completion_tokens;
  return outcome->text;
}

InferenceTimings SchedulerBackend::last_timings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timings_;
}

}  // namespace cmdai::serve
