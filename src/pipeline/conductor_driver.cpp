#include "pipeline/conductor_driver.hpp"

#include <sys/prctl.h>
#include <immintrin.h>

#include <algorithm>
#include <ctime>

namespace aiway {

namespace harness_work {
[[gnu::noinline]] void conductor_output_full(void* driver) { static_cast<ConductorDriver*>(driver)->make_room(); }
}  // namespace harness_work

ConductorDriver::ConductorDriver(const Scenario& scenario, const Clock& clock, ConductorStage& stage,
                                 std::uint32_t streams, TokenChannel& in, TokenChannel& out, ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      stage_(stage),
      in_(in),
      out_(out),
      control_(control),
      stream_open_(streams, false),
      // A token can yield commands as well as itself: room for a full inbox and some.
      outbox_(2 * std::size_t(scenario.pipeline.batch) + 16),
      in_place_(out.writes_in_place()),
      output_(in_place_ ? nullptr : outbox_.data(), in_place_ ? 0 : outbox_.size(), &harness_work::conductor_output_full,
              this),
      planted_(scenario.conductor.extra_work_ns, scenario.conductor.extra_work_instructions) {}

// Sends what the stage emitted to the surface: published in place when it
// was written into the surface channel's slots, pushed otherwise. After a quit
// or abort interrupted a blocked push, the rest (and everything forwarded
// later) is discarded and counted.
void ConductorDriver::forward() {
  const std::size_t size = output_.size();
  if (size > 0 && output_.slots() != outbox_.data()) {
    out_.publish(size);
  } else if (size > 0) {
    const std::size_t pushed = stopped_ ? 0 : out_.push(output_.slots(), size, control_.conductor_attention);
    for (std::size_t k = pushed; k < size; ++k) stats_.discarded_at_shutdown += output_.slots()[k].kind == TokenKind::data;
    stopped_ |= pushed < size;
  }
  // In place, slots are claimed when the next item comes (make_room), so no
  // push can write where a claim points.
  if (in_place_) output_.rebind(nullptr, 0);
  else output_.rebind(outbox_.data(), outbox_.size());
}

// The stage's output is full (or, in place, not bound yet): send it and find room.
void ConductorDriver::make_room() {
  forward();
  if (!in_place_) return;
  const std::span<Token> slots =
      stopped_ ? std::span<Token>() : out_.claim(outbox_.size(), control_.conductor_attention);
  if (slots.empty()) {  // a quit interrupted the wait: what follows is discarded by forward()
    stopped_ = true;
    output_.rebind(outbox_.data(), outbox_.size());
    return;
  }
  output_.rebind(slots.data(), slots.size());
}

// Hands batch_[from, from + count) to the stage: the data tokens that have
// arrived, up to the next terminal. Returns how many it handed.
std::size_t ConductorDriver::hand_over(std::size_t from, std::size_t count) {
  std::size_t end = from;
  for (; end < count && batch_[end].kind == TokenKind::data && batch_[end].arrives_ns <= t1_; ++end) {
    Token& token = batch_[end];
    token.dequeued_ns = t1_;
    stream_open_[token.stream] = true;
  }
  stats_.tokens_in += end - from;
  stage_work::conductor_tokens(stage_, batch_.subspan(from, end - from), output_, planted_);
  return end - from;
}

void ConductorDriver::end_stream(Token& terminal) {
  terminal.dequeued_ns = t1_;
  if (terminal.kind == TokenKind::cancelled) ++stats_.responses_cancelled;
  else stream_open_[terminal.stream] = false;
  stage_work::conductor_stream_end(stage_, terminal.stream, terminal.kind, output_);
  output_.forward(terminal);
}

void ConductorDriver::shut_down() {
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
  stats_.discarded_at_shutdown += in_.drain(control_.aborted);
}

// The backend closed its channel with streams still open: unlike ai-way's
// conductor, which waited forever, end each with a StreamError the surface sees.
void ConductorDriver::report_disconnected() {
  for (std::uint32_t stream = 0; stream < stream_open_.size(); ++stream) {
    if (!stream_open_[stream]) continue;
    ++stats_.streams_disconnected;
    Token end;
    end.kind = TokenKind::error;
    end.stream = stream;
    end.seq = 0;  // unknown: the surface cannot tell how many tokens were lost
    end.text = "disconnected";
    end_stream(end);
  }
  forward();
}

// The hop1 network has not delivered the token yet: wait for it (sleeping
// when it is far off), unless a quit comes first.
bool ConductorDriver::await_arrival(std::int64_t arrives_ns) {
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

void ConductorDriver::run() {
  if (scenario_.hop1.active()) prctl(PR_SET_TIMERSLACK, 1);  // network arrivals to the microsecond
  const StageMeter meter;
  const bool stamp = scenario_.measure.latency;
  while (true) {
    if (control_.conductor_attention.load(std::memory_order_acquire)) {
      if (!control_.aborted.load(std::memory_order_acquire)) shut_down();
      break;
    }
    // The stage works on the channel's slots in place: no copy of the batch.
    const auto taken = in_.take(scenario_.pipeline.batch, EventCount::kForever, control_.conductor_attention);
    if (taken.closed) {
      report_disconnected();
      break;
    }
    if (taken.items.empty()) continue;
    batch_ = taken.items;
    const std::size_t count = batch_.size();
    t1_ = stamp ? clock_.now_ns() : 0;
    std::size_t k = 0;
    while (k < count && !stopped_) {
      if (batch_[k].arrives_ns > t1_ && !await_arrival(batch_[k].arrives_ns)) break;  // quit while waiting
      if (batch_[k].kind == TokenKind::data) k += hand_over(k, count);
      else end_stream(batch_[k++]);
    }
    forward();  // also unbinds claimed slots, so shut_down() can push
    for (; k < count; ++k) stats_.discarded_at_shutdown += batch_[k].kind == TokenKind::data;
    batch_ = {};
    in_.release();
    progress_.store(stats_.tokens_in, std::memory_order_relaxed);
  }
  out_.close();
  // Forwarded twice is not negative loss: the surface counts the duplicate.
  stats_.dropped_by_stage = stats_.tokens_in - std::min(stats_.tokens_in, output_.forwarded_data());
  stats_.commands_executed = output_.commands();
  stats_.transcript_bytes = stage_.retained_bytes();
  stats_.counters = reported_counters(stage_);
  stats_.usage = meter.finish();
}

}  // namespace aiway
