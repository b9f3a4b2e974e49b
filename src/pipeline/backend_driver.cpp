#include "pipeline/backend_driver.hpp"

#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cmath>

#include "pipeline/arrival.hpp"
#include "pipeline/content_hash.hpp"
#include "pipeline/stage_work.hpp"
#include <fmt/format.h>

#include <stdexcept>

namespace aiway {

BackendDriver::BackendDriver(const Scenario& scenario, const Clock& clock, BackendStage& source, TokenProducer& out,
                             ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      source_(source),
      out_(out),
      control_(control),
      next_seq_(source.streams(), 0),
      ended_(source.streams(), false) {}

void BackendDriver::request_quit() {
  control_.quit_requested_ns.store(clock_.now_ns(), std::memory_order_release);
  control_.conductor_attention.store(true, std::memory_order_release);
  out_.wake_consumer();
  // In ai-way the quit comes from the UI thread, not from the model's stream:
  // the backend thread only stands in for it. Yield so that the requester does
  // not keep the core the conductor needs to act on it (three stage threads
  // share two cores here).
  sched_yield();
}

// Sleeps until due_ns (or at most 10 ms, to re-check the stop flag); false when stopped.
bool BackendDriver::sleep_until(std::int64_t due_ns) {
  ++stats_.wakeups;
  clock_.sleep_until(std::min(due_ns, clock_.now_ns() + 10'000'000));
  return !control_.backend_stop.load(std::memory_order_acquire);
}


void BackendDriver::run(std::int64_t start_ns) {
  prctl(PR_SET_TIMERSLACK, 1);  // pacing wants wake-ups to the microsecond, not the default 50 us
  const StageMeter meter;
  const auto& b = scenario_.backend;
  const std::uint32_t streams = source_.streams();
  const std::uint64_t total = source_.tokens();
  // A recorded trace keeps its own schedule; otherwise rate_tps paces (or nothing does).
  const bool self_timed = total > 0 && source_.next_due_ns() >= 0;
  const bool paced = b.rate_tps > 0 || self_timed;
  ArrivalSchedule schedule(b.arrival, b.rate_tps > 0 ? b.rate_tps * streams : 1, b.burstiness, b.seed, start_ns);
  const auto next_due = [&] { return self_timed ? start_ns + source_.next_due_ns() : schedule.peek(); };
  const bool network = scenario_.hop1.active();
  NetworkHop hop1(scenario_.hop1, b.seed);
  const bool stamp = scenario_.measure.latency || network;
  const std::uint64_t quit_after = scenario_.control.quit_at
                                       ? std::uint64_t(std::floor(*scenario_.control.quit_at * double(total)))
                                       : UINT64_MAX;
  const std::size_t batch_size = scenario_.pipeline.batch;
  const auto window_ns = std::int64_t(scenario_.pipeline.batch_window_us * 1e3);
  // A batch is built in the channel's slots when it writes in place (no move
  // per token), else here and pushed. Either way it has room for one terminal per stream.
  std::vector<Token> built_here(batch_size + streams);
  TokenChannel* const in_place = out_.in_place();

  stats_.start_ns = start_ns;
  std::uint64_t j = 0;  // tokens taken from the source
  if (quit_after == 0) request_quit();
  const auto& faults = scenario_.faults;
  const TokenKind terminal = faults.error_at ? TokenKind::error : TokenKind::complete;
  // Batches end exactly where a quit, stall or disconnect is due.
  const std::uint64_t stall_after = faults.backend_stall_at ? faults.backend_stall_at : UINT64_MAX;
  const std::uint64_t disconnect_after = faults.disconnect_at ? faults.disconnect_at : UINT64_MAX;
  const std::uint64_t second_request_after = faults.second_request_at ? faults.second_request_at : UINT64_MAX;
  while (j < total && j < disconnect_after && !control_.backend_stop.load(std::memory_order_acquire)) {
    std::uint64_t limit = std::min<std::uint64_t>({total, j + batch_size, disconnect_after});
    if (quit_after > j) limit = std::min(limit, quit_after);
    if (stall_after > j) limit = std::min(limit, stall_after);
    if (second_request_after > j) limit = std::min(limit, second_request_after);
    const std::int64_t now = (stamp || paced) ? clock_.now_ns() : 0;
    if (paced && next_due() > now) {
      // Sleep to the next due time, but never less than the batch window:
      // waking per token would cost more CPU than the tokens themselves.
      if (!sleep_until(std::max(next_due(), now + window_ns))) break;
      continue;
    }
    Token* batch = built_here.data();
    if (in_place) {
      const std::span<Token> slots = in_place->claim(batch_size + streams, control_.backend_stop);
      if (slots.empty()) break;  // stopped while waiting for room
      // Fewer slots than that before the ring wraps: a smaller batch, or
      // (no room for a data token besides the terminals) this one is pushed.
      if (slots.size() > streams) {
        batch = slots.data();
        limit = std::min<std::uint64_t>(limit, j + (slots.size() - streams));
      }
    }
    const bool claimed = batch != built_here.data();
    // Unpaced tokens are due the moment their batch is generated: one clock
    // read per batch (generating 256 short tokens takes a few microseconds).
    std::size_t n = 0;
    std::uint64_t batch_tokens = 0, batch_bytes = 0;  // its data tokens, counted as sent once pushed
    for (; j < limit && (!paced || next_due() <= now); ++j) {
      Token& token = batch[n];
      const std::int64_t due = paced ? next_due() : now;
      const SourcedToken sourced = stage_work::backend_next(source_, token);
      const std::uint32_t stream = token.stream;
      if (stream >= streams)
        throw std::runtime_error(fmt::format("the backend stage gave stream {} of its {} streams", stream, streams));
      if (ended_[stream]) continue;  // past faults.error_at: the stream already ended
      ++n;
      token.kind = TokenKind::data;
      token.seq = next_seq_[stream]++;
      const std::string& clean = sourced.clean ? *sourced.clean : token.text;
      token.hash = content_hash(clean);
      token.clean_size = std::uint32_t(clean.size());
      ++batch_tokens;
      batch_bytes += clean.size();
      token.intended_ns = due;
      if (!self_timed && paced) schedule.next();
      if (sourced.last_of_stream || (faults.error_at && token.seq + 1 == faults.error_at)) {
        Token& end = batch[n++];
        end.stream = stream;
        end.kind = terminal;
        end.seq = token.seq + 1;  // the number of data tokens, so the surface can see a lost tail
        end.text.clear();
        ended_[stream] = true;
      }
    }
    if (j == total) {
      // A stream the source never marked as ended ends with its last token.
      for (std::uint32_t stream = 0; stream < streams; ++stream) {
        if (ended_[stream] || next_seq_[stream] == 0) continue;
        Token& end = batch[n++];
        end.stream = stream;
        end.kind = terminal;
        end.seq = next_seq_[stream];
        end.text.clear();
        ended_[stream] = true;
      }
    }
    const std::int64_t sent = (stamp || paced) ? clock_.now_ns() : 0;
    for (std::size_t k = 0; k < n; ++k) {
      batch[k].sent_ns = sent;
      batch[k].arrives_ns = network ? hop1.arrival(sent) : 0;
      if (paced && batch[k].kind == TokenKind::data) stats_.producer_lag_max_ns = std::max(stats_.producer_lag_max_ns, sent - batch[k].intended_ns);
    }
    std::size_t pushed = n;
    if (claimed)
      in_place->publish(n);
    else
      pushed = out_.push(batch, n, control_.backend_stop);
    if (pushed < n) {  // stopped while blocked: only what went in was sent
      batch_tokens = batch_bytes = 0;
      for (std::size_t k = 0; k < pushed; ++k) {
        batch_tokens += batch[k].kind == TokenKind::data;
        batch_bytes += batch[k].kind == TokenKind::data ? batch[k].clean_size : 0;
      }
    }
    stats_.tokens_sent += batch_tokens;
    stats_.bytes_sent += batch_bytes;
    progress_.store(stats_.tokens_sent, std::memory_order_relaxed);
    if (pushed < n) break;  // stopped while blocked
    if (j == quit_after) request_quit();
    if (j == second_request_after) {
      // Fault: the user sends a new message mid-answer. Every open response is
      // cancelled (and says so); each stream carries on with the next response.
      std::size_t m = 0;
      for (std::uint32_t stream = 0; stream < streams; ++stream) {
        if (next_seq_[stream] == 0 || ended_[stream]) continue;  // not started, or already finished
        Token& cancel = built_here[m++];
        cancel.kind = TokenKind::cancelled;
        cancel.stream = stream;
        cancel.seq = next_seq_[stream];
        cancel.text.clear();
      }
      if (out_.push(built_here.data(), m, control_.backend_stop) < m) break;
    }
    if (j == stall_after) {
      // Fault: the model stops producing for a while, then carries on on schedule.
      const std::int64_t until = clock_.now_ns() + std::int64_t(faults.backend_stall_ms * 1e6);
      while (clock_.now_ns() < until && sleep_until(until)) {
      }
    }
  }
  // A disconnect ends every stream without its terminal item: the channel just closes.
  out_.close();
  stats_.commands_planted = source_.commands_planted();
  stats_.counters = reported_counters(source_);
  stats_.usage = meter.finish();
}

}  // namespace aiway
