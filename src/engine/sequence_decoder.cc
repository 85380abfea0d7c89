#include "engine/sequence_decoder.h"

#include <algorithm>

namespace cmdai::engine {
namespace {

// Length of the trailing bytes of `text` that start a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(std::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

Status check_interrupts(const GenerateRequest& request) {
  if (request.cancel && request.cancel->load(std::memory_order_relaxed)) {
    return make_error(ErrorCode::kCancelled, "generation cancelled");
  }
  if (request.deadline.expired()) {
    return make_error(ErrorCode::kTimeout, "generation ran past its deadline");
  }
  return ok_status();
}

Status check_prompt_fits(const GenerateRequest& request, int64_t context_length) {
  const int64_t n_prompt = static_cast<int64_t>(request.prompt.size());
  if (n_prompt == 0) return make_error(ErrorCode::kInvalidArgument, "the prompt has no tokens");
  if (n_prompt >= context_length) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the prompt has {} tokens but the model's context holds {}", n_prompt,
                      context_length);
  }
  return ok_status();
}

bool StopTracker::append(std::string_view piece) {
  const size_t search_from = text_.size();
  text_.append(piece);
  size_t cut = std::string::npos;
  for (const std::string& stop : stops_) {
    if (stop.empty()) continue;
    const size_t from = search_from >= stop.size() ? search_from - stop.size() + 1 : 0;
    cut = std::min(cut, text_.find(stop, from));
  }
  if (cut == std::string::npos) return false;
  text_.resize(cut);
  return true;
}

std::string_view StopTracker::release(bool final) {
  size_t hold = 0;
  if (!final) {
    for (const std::string& stop : stops_) {
      for (size_t k = std::min(stop.size() - 1, text_.size()); k > hold; --k) {
        if (text_.compare(text_.size() - k, k, stop, 0, k) == 0) {
          hold = k;
          break;
        }
      }
    }
    hold = std::max(hold, incomplete_utf8_tail(text_));
  }
  const size_t end = std::max(released_, text_.size() - hold);
  std::string_view piece(text_.data() + released_, end - released_);
  released_ = end;
  return piece;
}

SequenceDecoder::SequenceDecoder(const GenerateRequest& request)
    : request_(request), sampler_(request.sampling), text_(request.stop), history_(request.prompt) {
  result_.stop_reason = StopReason::kMaxTokens;
  done_ = request.max_tokens <= 0;
}

void SequenceDecoder::step(std::span<float> logits) {
  if (done_) return;
  if (request_.logit_filter) {
    request_.logit_filter(logits, step_, request_.max_tokens - step_);
  }
  const int32_t token = sampler_.sample(logits, history_);
  ++step_;
  const auto& eog = request_.eog_ids;
  if (std::find(eog.begin(), eog.end(), token) != eog.end()) {
    end(StopReason::kEndOfGeneration);
    return;
  }
  result_.tokens.push_back(token);
  history_.push_back(token);
  const bool stopped = request_.token_text && text_.append(request_.token_text(token));
  const std::string_view released = text_.release(stopped);
  if (request_.on_token && !request_.on_token(token, released)) {
    end(StopReason::kCallback);
  } else if (stopped) {
    end(StopReason::kStopSequence);
  } else if (step_ >= request_.max_tokens) {
    end(StopReason::kMaxTokens);
  }
}

void SequenceDecoder::end(StopReason reason) {
  result_.stop_reason = reason;
  done_ = true;
}

GenerateResult SequenceDecoder::finish() {
  if (request_.on_token) {
    const std::string_view rest = text_.release(true);
    if (!rest.empty() && !result_.tokens.empty()) request_.on_token(result_.tokens.back(), rest);
  }
  result_.text = text_.take();
  result_.timings.generated_tokens = static_cast<int32_t>(result_.tokens.size());
  return std::move(result_);
}

}  // namespace cmdai::engine
