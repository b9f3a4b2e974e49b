#include "pipeline/conductor.hpp"

#include <sys/prctl.h>
#include <immintrin.h>

#include <algorithm>
#include <ctime>

namespace aiway {

Conductor::Conductor(const Scenario& scenario, const Clock& clock, TokenChannel& in, TokenChannel& out,
                     ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      in_(in),
      out_(out),
      control_(control),
      parsers_(scenario.backend.streams),
      commands_this_response_(scenario.backend.streams, 0),
      stream_open_(scenario.backend.streams, false),
      inbox_(scenario.pipeline.batch),
      // A token can yield commands as well as itself: room for a full inbox and some.
      outbox_(2 * std::size_t(scenario.pipeline.batch) + 16),
      extra_work_(scenario.conductor.extra_work_ns) {
  transcripts_.reserve(scenario.backend.streams);
  for (std::uint32_t s = 0; s < scenario.backend.streams; ++s) transcripts_.emplace_back(scenario.conductor.transcript_max_bytes);
}

void Conductor::process(Token& token) {
  token.dequeued_ns = t1_;
  const std::uint32_t stream = token.stream;
  if (token.kind != TokenKind::cancelled) stream_open_[stream] = token.kind == TokenKind::data;
  if (token.kind == TokenKind::data) {
    ++stats_.tokens_in;
    if (extra_work_.active()) extra_work_.run();
    clean_.clear();
    const bool unchanged = parsers_[stream].feed(token.text, clean_, [&](const AvatarCommand& command) {
      if (!is_valid_command(command) || commands_this_response_[stream] >= scenario_.conductor.max_commands) {
        ++stats_.commands_rejected;
        return;
      }
      ++commands_this_response_[stream];
      ++stats_.commands_executed;
      if (outbox_size_ + 1 >= outbox_.size()) forward();
      Token& ui = outbox_[outbox_size_++];
      ui.kind = TokenKind::command;
      ui.stream = stream;
      ui.sent_ns = token.sent_ns;
      ui.text.assign(command.name);
    });
    if (!unchanged) token.text.swap(clean_);  // the old buffer is reused for the next token
    transcripts_[stream].append(token.text);
  } else {
    // What a response leaves pending at its end was never a command: text.
    if (token.kind == TokenKind::cancelled) ++stats_.responses_cancelled;
    clean_.clear();
    parsers_[stream].flush(clean_);
    transcripts_[stream].append(clean_);
    transcripts_[stream].end_message();
    commands_this_response_[stream] = 0;
  }
  outbox_[outbox_size_++] = std::move(token);
}

// Pushes the outbox; false when a quit or abort interrupted a blocked push.
bool Conductor::forward() {
  const std::size_t pushed = out_.push(outbox_.data(), outbox_size_, control_.conductor_attention);
  for (std::size_t k = pushed; k < outbox_size_; ++k)
    stats_.discarded_at_shutdown += outbox_[k].kind == TokenKind::data;
  const bool all = pushed == outbox_size_;
  outbox_size_ = 0;
  return all;
}

void Conductor::shut_down() {
  control_.shutting_down_ns.store(clock_.now_ns(), std::memory_order_release);
  if (scenario_.control.shutdown_path == ControlPath::separate) {
    // ShuttingDown overtakes every queued token: it travels the control lane.
    control_.surface_attention.store(true, std::memory_order_release);
    out_.wake_consumer();
  } else {
    // ai-way's way: ShuttingDown queues behind the data, and a lossy channel
    // that is full drops it like any other item.
    Token quit;
    quit.kind = TokenKind::shutting_down;
    quit.sent_ns = clock_.now_ns();
    const std::uint64_t dropped_before = out_.stats().dropped_other;  // this thread is out_'s producer
    const bool pushed = out_.push(&quit, 1, control_.aborted) == 1;
    stats_.shutdown_dropped = !pushed || out_.stats().dropped_other > dropped_before;
  }
  control_.backend_stop.store(true, std::memory_order_release);
  in_.wake_producer();
  stats_.discarded_at_shutdown += in_.drain(inbox_.data(), inbox_.size(), control_.aborted);
}

// The backend closed its channel with streams still open: unlike ai-way's
// conductor, which waited forever, end each with a StreamError the surface sees.
void Conductor::report_disconnected() {
  for (std::uint32_t stream = 0; stream < stream_open_.size(); ++stream) {
    if (!stream_open_[stream]) continue;
    ++stats_.streams_disconnected;
    Token& end = outbox_[outbox_size_++];
    end.kind = TokenKind::error;
    end.stream = stream;
    end.seq = 0;  // unknown: the surface cannot tell how many tokens were lost
    end.text = "disconnected";
    if (outbox_size_ + 8 > outbox_.size()) forward();
    stream_open_[stream] = false;
  }
  if (outbox_size_ > 0) forward();
}

// The hop1 network has not delivered the token yet: wait for it (sleeping
// when it is far off), unless a quit comes first.
bool Conductor::await_arrival(std::int64_t arrives_ns) {
  for (;;) {
    if (control_.conductor_attention.load(std::memory_order_acquire)) return false;
    t1_ = clock_.now_ns();
    if (t1_ >= arrives_ns) return true;
    if (arrives_ns - t1_ > 50'000) {
      clock_.sleep_until(std::min(arrives_ns - 20'000, t1_ + 10'000'000));
    } else {
      _mm_pause();
    }
  }
}

void Conductor::run() {
  if (scenario_.hop1.active()) prctl(PR_SET_TIMERSLACK, 1);  // network arrivals to the microsecond
  const StageMeter meter;
  const bool stamp = scenario_.measure.latency;
  while (true) {
    if (control_.conductor_attention.load(std::memory_order_acquire)) {
      if (!control_.aborted.load(std::memory_order_acquire)) shut_down();
      break;
    }
    const auto r = in_.pop(inbox_.data(), inbox_.size(), EventCount::kForever, control_.conductor_attention);
    if (r.closed) {
      report_disconnected();
      break;
    }
    if (r.count == 0) continue;
    t1_ = stamp ? clock_.now_ns() : 0;
    std::size_t k = 0;
    bool flowing = true;
    while (k < r.count && flowing) {
      if (inbox_[k].arrives_ns > t1_ && !await_arrival(inbox_[k].arrives_ns)) break;  // quit while waiting
      process(inbox_[k++]);
      if (outbox_size_ + 8 > outbox_.size()) flowing = forward();
    }
    if (flowing && outbox_size_ > 0) forward();
    for (; k < r.count; ++k) stats_.discarded_at_shutdown += inbox_[k].kind == TokenKind::data;
    progress_.store(stats_.tokens_in, std::memory_order_relaxed);
  }
  out_.close();
  for (const auto& t : transcripts_) stats_.transcript_bytes += t.bytes();
  stats_.usage = meter.finish();
}

}  // namespace aiway
