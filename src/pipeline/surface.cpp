#include "pipeline/surface.hpp"

#include <xxhash.h>

#include <algorithm>

namespace aiway {

Surface::Surface(const Scenario& scenario, const Clock& clock, TokenChannel& in, ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      in_(in),
      control_(control),
      integrity_(scenario.backend.streams),
      last_delivery_ns_(scenario.backend.streams, -1),
      frame_(std::size_t(scenario.surface.width) * scenario.surface.height),
      extra_work_(scenario.surface.extra_work_ns),
      inbox_(scenario.pipeline.batch) {
  const std::uint32_t streams = scenario.backend.streams;
  scrollback_.reserve(streams);
  for (std::uint32_t s = 0; s < streams; ++s) scrollback_.emplace_back(scenario.surface.width, scenario.surface.scrollback_lines);
  if (scenario.surface.rewrap == Rewrap::full) messages_.resize(streams);
  if (streams > 1 && scenario.measure.latency) {
    // 2 significant digits up to 60 s: about 30 KB a stream, enough to rank streams.
    stream_latency_.assign(streams, LatencyHistogram(60'000'000'000, 2));
    streams_.resize(streams);
  }
}

void Surface::deliver(Token& token, std::int64_t& now) {
  const std::uint32_t stream = token.stream;
  if (token.kind == TokenKind::command) {
    ++stats_.commands_displayed;
    return;
  }
  if (token.kind == TokenKind::cancelled) {
    ++stats_.responses_cancelled;
    return;
  }
  if (token.kind != TokenKind::data) {
    integrity_[stream].end(token.seq);
    if (!messages_.empty()) {
      messages_[stream].clear();
      scrollback_[stream].begin_message();
    }
    if (token.kind == TokenKind::complete) ++stats_.streams_completed;
    else ++stats_.stream_errors;
    return;
  }
  if (integrity_[stream].observe(token.seq) == StreamIntegrity::Verdict::duplicate) return;
  ++stats_.delivered;
  stats_.bytes_delivered += token.text.size();
  if (token.text.size() != token.clean_size || XXH3_64bits(token.text.data(), token.text.size()) != token.hash)
    ++stats_.corrupted;
  if (messages_.empty()) {
    scrollback_[stream].append(token.text);
  } else {
    messages_[stream] += token.text;
    scrollback_[stream].rewrap_message(messages_[stream]);
  }
  focused_stream_ = stream;

  if (extra_work_.active()) extra_work_.run();
  if (scenario_.surface.work_us > 0) {
    // Busy work spins (a sleep would overshoot) but stays stoppable.
    const std::int64_t until = now + std::int64_t(scenario_.surface.work_us * 1000);
    while ((now = clock_.now_ns()) < until && !control_.surface_attention.load(std::memory_order_relaxed)) _mm_pause();
  }
  if (scenario_.measure.latency) {
    end_to_end_.record(now - token.intended_ns);
    uncorrected_.record(now - token.sent_ns);
    hop1_.record(token.dequeued_ns - token.sent_ns);
    hop2_.record(now - token.dequeued_ns);
    if (!streams_.empty()) {
      stream_latency_[stream].record(now - token.intended_ns);
      ++streams_[stream].delivered;
      streams_[stream].last_ns = now;
    }
    std::int64_t& last = last_delivery_ns_[stream];
    if (last >= 0) inter_token_.record(now - last);
    else latencies_.first_token.record(now - request_ns_);
    last = now;
  }
  if (scenario_.faults.surface_stop_at && stats_.delivered == scenario_.faults.surface_stop_at) {
    // Fault: the UI thread hangs. Only an abort (the watchdog) ends this.
    while (!control_.aborted.load(std::memory_order_acquire)) {
      const timespec ts{0, 10'000'000};
      nanosleep(&ts, nullptr);
    }
    return;
  }
  if (stats_.delivered == scenario_.faults.surface_stall_at && scenario_.faults.surface_stall_ms > 0) {
    // Fault: the UI stops consuming for a while (a long frame, a GC pause…).
    const std::int64_t until = monotonic_ns() + std::int64_t(scenario_.faults.surface_stall_ms * 1e6);
    while (monotonic_ns() < until && !control_.surface_attention.load(std::memory_order_relaxed)) {
      const std::int64_t wake = std::min(until, monotonic_ns() + 10'000'000);
      const timespec ts{time_t(wake / 1'000'000'000), long(wake % 1'000'000'000)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    now = clock_.now_ns();
  }
}

void Surface::render() {
  const std::int64_t start = clock_.now_ns();
  frame_checksum_ += scrollback_[focused_stream_].render(frame_.data(), scenario_.surface.height);
  latencies_.frame_time.record(clock_.now_ns() - start);
  ++stats_.frames_rendered;
}

void Surface::run(std::int64_t request_ns) {
  request_ns_ = request_ns;
  const StageMeter meter;
  const double frame_rate = scenario_.surface.frame_rate_hz;
  const std::int64_t frame_period = frame_rate > 0 ? std::int64_t(1e9 / frame_rate) : 0;
  std::int64_t next_frame = frame_period ? clock_.now_ns() + frame_period : EventCount::kForever;
  const bool timed = scenario_.measure.latency || frame_period || scenario_.surface.work_us > 0;

  while (true) {
    if (control_.surface_attention.load(std::memory_order_acquire)) {
      if (!control_.aborted.load(std::memory_order_acquire)) {
        stats_.shutting_down_seen_ns = clock_.now_ns();
        stats_.discarded_at_shutdown += in_.drain(inbox_.data(), inbox_.size(), control_.aborted);
      }
      break;
    }
    const auto r = in_.pop(inbox_.data(), inbox_.size(), next_frame, control_.surface_attention);
    if (r.closed) {
      // The conductor may have shut down and closed an empty channel before this
      // thread ran again: ShuttingDown is seen now, on the way out.
      if (control_.surface_attention.load(std::memory_order_acquire) && !control_.aborted.load(std::memory_order_acquire))
        stats_.shutting_down_seen_ns = clock_.now_ns();
      break;
    }
    std::int64_t now = timed ? clock_.now_ns() : 0;
    std::size_t k = 0;
    bool in_band_quit = false;
    for (; k < r.count; ++k) {
      if (control_.surface_attention.load(std::memory_order_relaxed)) break;  // quit overtakes the batch
      if (inbox_[k].kind == TokenKind::shutting_down) {
        in_band_quit = true;
        stats_.shutting_down_seen_ns = clock_.now_ns();
        stats_.shutdown_seen_in_band = true;
        ++k;
        break;
      }
      deliver(inbox_[k], now);
    }
    for (std::size_t rest = k; rest < r.count; ++rest)
      stats_.discarded_at_shutdown += inbox_[rest].kind == TokenKind::data;
    if (in_band_quit) {
      stats_.last_item_ns = stats_.shutting_down_seen_ns;
      progress_.store(stats_.delivered, std::memory_order_relaxed);
      stats_.discarded_at_shutdown += in_.drain(inbox_.data(), inbox_.size(), control_.aborted);
      break;
    }
    if (r.count > 0) {
      stats_.last_item_ns = timed ? now : clock_.now_ns();
      progress_.store(stats_.delivered, std::memory_order_relaxed);
    }
    if (frame_period && now >= next_frame) {  // frame_period implies `timed`
      render();
      next_frame += frame_period;
      if (next_frame <= now) next_frame = now + frame_period;  // behind: skip frames, don't burst
    }
  }
  for (RunLengthRecorder* r : {&end_to_end_, &uncorrected_, &hop1_, &hop2_, &inter_token_}) r->flush();
  for (const auto& check : integrity_) {
    stats_.duplicated += check.duplicated();
    stats_.reordered += check.reordered();
    stats_.missing += check.missing();
  }
  for (const auto& display : scrollback_) stats_.retained_bytes += display.retained_bytes();
  for (const auto& message : messages_) stats_.retained_bytes += message.capacity();
  for (std::size_t s = 0; s < streams_.size(); ++s) streams_[s].latency_p99_ns = stream_latency_[s].value_at_percentile(99);
  stats_.usage = meter.finish();
}

}  // namespace aiway
