#include "pipeline/surface_driver.hpp"

#include <algorithm>

#include "pipeline/content_hash.hpp"

namespace aiway {

SurfaceDriver::SurfaceDriver(const Scenario& scenario, const Clock& clock, SurfaceStage& stage, std::uint32_t streams,
                             TokenChannel& in, ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      stage_(stage),
      in_(in),
      control_(control),
      integrity_(streams),
      last_delivery_ns_(streams, -1),
      planted_(scenario.surface.extra_work_ns, scenario.surface.extra_work_instructions) {
  if (streams > 1 && scenario.measure.latency) {
    // 2 significant digits up to 60 s: about 30 KB a stream, enough to rank streams.
    stream_latency_.assign(streams, LatencyHistogram(60'000'000'000, 2));
    streams_.resize(streams);
  }
}

// An item that is not data: a command, a cancellation or a stream's end.
void SurfaceDriver::receive(Token& token) {
  if (token.kind == TokenKind::command) {
    ++stats_.commands_displayed;
    stage_work::surface_command(stage_, token);
    return;
  }
  if (token.kind == TokenKind::cancelled) ++stats_.responses_cancelled;
  else integrity_[token.stream].end(token.seq);
  if (token.kind == TokenKind::complete) ++stats_.streams_completed;
  else if (token.kind == TokenKind::error) ++stats_.stream_errors;
  stage_work::surface_stream_end(stage_, token.stream, token.kind);
}

// The books of one data token: sequence, content, latencies. False for a
// duplicate, which is counted and not displayed.
bool SurfaceDriver::check(Token& token, std::int64_t& now) {
  const std::uint32_t stream = token.stream;
  if (integrity_[stream].observe(token.seq) == StreamIntegrity::Verdict::duplicate) return false;
  ++stats_.delivered;
  stats_.bytes_delivered += token.text.size();
  if (token.text.size() != token.clean_size || content_hash(token.text) != token.hash)
    ++stats_.corrupted;
  if (scenario_.surface.work_us > 0) {
    // Busy work spins (a sleep would overshoot) but stays stoppable.
    const std::int64_t until = now + std::int64_t(scenario_.surface.work_us * 1000);
    while ((now = clock_.now_ns()) < until && !control_.surface_attention.load(std::memory_order_relaxed)) _mm_pause();
  }
  if (scenario_.measure.latency) {
    // Tokens of one batch share three stamps: count them as one run and
    // record the three latencies they give once per run. The corrected
    // latency goes to its own run-length recorder: flat out a batch shares its
    // intended time too, paced every token has its own. Metering cost the
    // surface 61 instructions a token when each recorder compared every token.
    const DeliveryStamps stamps{now, token.sent_ns, token.dequeued_ns};
    if (stamps == run_.stamps) {
      ++run_.count;
    } else {
      record_run();
      run_ = {stamps, 1};
    }
    end_to_end_.record(now - token.intended_ns);
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
  return true;
}

void SurfaceDriver::record_run() {
  if (run_.count == 0) return;
  const DeliveryStamps& t = run_.stamps;
  uncorrected_.record(t.delivered - t.sent, run_.count);
  hop1_.record(t.dequeued - t.sent, run_.count);
  hop2_.record(t.delivered - t.dequeued, run_.count);
  run_.count = 0;
}

// The surface faults, due after the token just delivered; true when one ran.
bool SurfaceDriver::planted_fault(std::int64_t& now) {
  const auto& faults = scenario_.faults;
  if (faults.surface_stop_at && stats_.delivered == faults.surface_stop_at) {
    // Fault: the UI thread hangs. Only an abort (the watchdog) ends this.
    while (!control_.aborted.load(std::memory_order_acquire)) {
      const timespec ts{0, 10'000'000};
      nanosleep(&ts, nullptr);
    }
    return true;
  }
  if (stats_.delivered == faults.surface_stall_at && faults.surface_stall_ms > 0) {
    // Fault: the UI stops consuming for a while (a long frame, a GC pause…).
    const std::int64_t until = monotonic_ns() + std::int64_t(faults.surface_stall_ms * 1e6);
    while (monotonic_ns() < until && !control_.surface_attention.load(std::memory_order_relaxed)) {
      const std::int64_t wake = std::min(until, monotonic_ns() + 10'000'000);
      const timespec ts{time_t(wake / 1'000'000'000), long(wake % 1'000'000'000)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    now = clock_.now_ns();
    return true;
  }
  return false;
}

void SurfaceDriver::render() {
  const std::int64_t start = clock_.now_ns();
  stage_work::frame_render(stage_);
  latencies_.frame_time.record(clock_.now_ns() - start);
  ++stats_.frames_rendered;
}

void SurfaceDriver::run(std::int64_t request_ns) {
  request_ns_ = request_ns;
  const StageMeter meter;
  const double frame_rate = scenario_.surface.frame_rate_hz;
  const std::int64_t frame_period = frame_rate > 0 ? std::int64_t(1e9 / frame_rate) : 0;
  std::int64_t next_frame = frame_period ? clock_.now_ns() + frame_period : EventCount::kForever;
  const bool timed = scenario_.measure.latency || frame_period || scenario_.surface.work_us > 0;
  const bool faults = scenario_.faults.surface_stop_at || scenario_.faults.surface_stall_at;

  while (true) {
    if (control_.surface_attention.load(std::memory_order_acquire)) {
      if (!control_.aborted.load(std::memory_order_acquire)) {
        stats_.shutting_down_seen_ns = clock_.now_ns();
        stats_.discarded_at_shutdown += in_.drain(control_.aborted);
      }
      break;
    }
    // Checked and displayed in the channel's slots: no copy of the batch.
    const auto taken = in_.take(scenario_.pipeline.batch, next_frame, control_.surface_attention);
    const std::span<Token> batch = taken.items;
    if (taken.closed) {
      // The conductor may have shut down and closed an empty channel before this
      // thread ran again: ShuttingDown is seen now, on the way out.
      if (control_.surface_attention.load(std::memory_order_acquire) && !control_.aborted.load(std::memory_order_acquire))
        stats_.shutting_down_seen_ns = clock_.now_ns();
      break;
    }
    std::int64_t now = timed ? clock_.now_ns() : 0;
    std::size_t k = 0, shown = 0;  // batch[shown, k) is checked and waits to be displayed
    const auto display = [&](std::size_t end) {
      if (end > shown) stage_work::surface_display(stage_, batch.subspan(shown, end - shown), planted_);
      shown = end;
    };
    bool in_band_quit = false;
    for (; k < batch.size(); ++k) {
      if (control_.surface_attention.load(std::memory_order_relaxed)) break;  // quit overtakes the batch
      Token& token = batch[k];
      if (token.kind == TokenKind::shutting_down) {
        display(k);
        in_band_quit = true;
        stats_.shutting_down_seen_ns = clock_.now_ns();
        stats_.shutdown_seen_in_band = true;
        shown = ++k;
        break;
      }
      if (token.kind != TokenKind::data) {
        display(k);
        receive(token);
        shown = k + 1;
      } else if (!check(token, now)) {
        display(k);
        shown = k + 1;  // a duplicate is not displayed
      } else if (faults && (stats_.delivered == scenario_.faults.surface_stop_at ||
                            stats_.delivered == scenario_.faults.surface_stall_at)) {
        display(k + 1);
        planted_fault(now);
      }
    }
    display(k);
    for (std::size_t rest = k; rest < batch.size(); ++rest)
      stats_.discarded_at_shutdown += batch[rest].kind == TokenKind::data;
    in_.release();
    if (in_band_quit) {
      stats_.last_item_ns = stats_.shutting_down_seen_ns;
      progress_.store(stats_.delivered, std::memory_order_relaxed);
      stats_.discarded_at_shutdown += in_.drain(control_.aborted);
      break;
    }
    if (!batch.empty()) {
      stats_.last_item_ns = timed ? now : clock_.now_ns();
      progress_.store(stats_.delivered, std::memory_order_relaxed);
    }
    if (frame_period && now >= next_frame) {  // frame_period implies `timed`
      render();
      next_frame += frame_period;
      if (next_frame <= now) next_frame = now + frame_period;  // behind: skip frames, don't burst
    }
  }
  record_run();
  for (RunLengthRecorder* r : {&end_to_end_, &uncorrected_, &hop1_, &hop2_, &inter_token_}) r->flush();
  for (const auto& check : integrity_) {
    stats_.duplicated += check.duplicated();
    stats_.reordered += check.reordered();
    stats_.missing += check.missing();
  }
  stats_.retained_bytes = stage_.retained_bytes();
  for (std::size_t s = 0; s < streams_.size(); ++s) streams_[s].latency_p99_ns = stream_latency_[s].value_at_percentile(99);
  stats_.counters = reported_counters(stage_);
  stats_.usage = meter.finish();
}

}  // namespace aiway
