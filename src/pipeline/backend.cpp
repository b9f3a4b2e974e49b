#include "pipeline/backend.hpp"

#include <sched.h>
#include <sys/prctl.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>

#include "pipeline/arrival.hpp"
#include "pipeline/generator.hpp"

namespace aiway {

Backend::Backend(const Scenario& scenario, const Clock& clock, TokenChannel& out, ControlLane& control)
    : scenario_(scenario),
      clock_(clock),
      out_(out),
      control_(control),
      next_command_(scenario.backend.streams, 0),
      split_tail_(scenario.backend.streams) {
  const auto& b = scenario.backend;
  const std::uint64_t per_stream = scenario_.faults.error_at ? scenario_.faults.error_at : b.messages;
  for (std::uint64_t j = 0; j < b.commands; ++j) {
    const std::uint64_t at = planted_command_position(j, b.commands, b.messages);
    if (at + 1 < per_stream) command_positions_.push_back(at);  // the split tail needs a next token
  }
}

void Backend::fill(Token& token, std::uint64_t j) {
  const auto& b = scenario_.backend;
  const std::uint32_t stream = std::uint32_t(j % b.streams);
  const std::uint64_t i = j / b.streams;
  token.stream = stream;
  token.kind = TokenKind::data;
  token.seq = i;
  generate_message(b.size, i, token.text);
  token.hash = XXH3_64bits(token.text.data(), token.text.size());
  token.clean_size = std::uint32_t(token.text.size());

  std::string& tail = split_tail_[stream];
  if (!tail.empty()) {
    token.text.insert(0, tail);
    tail.clear();
  }
  std::uint32_t& next = next_command_[stream];
  if (next < command_positions_.size() && command_positions_[next] == i) {
    const std::string_view command = planted_command(next);
    if (b.split_commands && next % 2 == 1) {
      const std::size_t half = command.size() / 2;
      token.text.append(command.substr(0, half));
      tail.assign(command.substr(half));
    } else {
      token.text.append(command);
    }
    ++next;
    ++stats_.commands_planted;
  }
}

void Backend::request_quit() {
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
bool Backend::sleep_until(std::int64_t due_ns) {
  ++stats_.wakeups;
  clock_.sleep_until(std::min(due_ns, clock_.now_ns() + 10'000'000));
  return !control_.backend_stop.load(std::memory_order_acquire);
}

void Backend::run(std::int64_t start_ns) {
  prctl(PR_SET_TIMERSLACK, 1);  // pacing wants wake-ups to the microsecond, not the default 50 us
  const StageMeter meter;
  const auto& b = scenario_.backend;
  const std::uint64_t per_stream = scenario_.faults.error_at ? scenario_.faults.error_at : b.messages;
  const std::uint64_t total = per_stream * b.streams;
  const bool paced = b.rate_tps > 0;
  ArrivalSchedule schedule(b.arrival, paced ? b.rate_tps * b.streams : 1, b.burstiness, b.seed, start_ns);
  const bool network = scenario_.hop1.active();
  NetworkHop hop1(scenario_.hop1, b.seed);
  const bool stamp = scenario_.measure.latency || network;
  const std::uint64_t quit_after = scenario_.control.quit_at
                                       ? std::uint64_t(std::floor(*scenario_.control.quit_at * double(total)))
                                       : UINT64_MAX;
  const std::size_t batch_size = scenario_.pipeline.batch;
  const auto window_ns = std::int64_t(scenario_.pipeline.batch_window_us * 1e3);
  std::vector<Token> batch(batch_size + b.streams);

  stats_.start_ns = start_ns;
  std::uint64_t j = 0;
  if (quit_after == 0) request_quit();
  const auto& faults = scenario_.faults;
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
    if (paced && schedule.peek() > now) {
      // Sleep to the next due time, but never less than the batch window:
      // waking per token would cost more CPU than the tokens themselves.
      if (!sleep_until(std::max(schedule.peek(), now + window_ns))) break;
      continue;
    }
    // Unpaced tokens are due the moment their batch is generated: one clock
    // read per batch (generating 256 short tokens takes a few microseconds).
    std::size_t n = 0;
    for (; j < limit && (!paced || schedule.peek() <= now); ++j) {
      Token& token = batch[n++];
      fill(token, j);
      token.intended_ns = paced ? schedule.next() : now;
      if (token.seq + 1 == per_stream) {  // the stream's last token: its terminal follows
        Token& end = batch[n++];
        end.stream = token.stream;
        end.kind = scenario_.faults.error_at ? TokenKind::error : TokenKind::complete;
        end.seq = per_stream;  // the number of data tokens, so the surface can see a lost tail
        end.text.clear();
      }
    }
    const std::int64_t sent = (stamp || paced) ? clock_.now_ns() : 0;
    for (std::size_t k = 0; k < n; ++k) {
      batch[k].sent_ns = sent;
      batch[k].arrives_ns = network ? hop1.arrival(sent) : 0;
      if (paced && batch[k].kind == TokenKind::data) stats_.producer_lag_max_ns = std::max(stats_.producer_lag_max_ns, sent - batch[k].intended_ns);
    }
    const std::size_t pushed = out_.push(batch.data(), n, control_.backend_stop);
    for (std::size_t k = 0; k < pushed; ++k) {
      if (batch[k].kind != TokenKind::data) {
        ++stats_.terminals_sent;
        continue;
      }
      ++stats_.tokens_sent;
      stats_.bytes_sent += batch[k].clean_size;
    }
    progress_.store(stats_.tokens_sent, std::memory_order_relaxed);
    if (pushed < n) break;  // stopped while blocked
    if (j == quit_after) request_quit();
    if (j == second_request_after) {
      // Fault: the user sends a new message mid-answer. Every open response is
      // cancelled (and says so); each stream carries on with the next response.
      std::size_t m = 0;
      for (std::uint32_t stream = 0; stream < b.streams; ++stream) {
        const std::uint64_t next_index = j / b.streams + (stream < j % b.streams ? 1 : 0);
        if (next_index == 0 || next_index >= per_stream) continue;  // not started, or already finished
        Token& cancel = batch[m++];
        cancel.kind = TokenKind::cancelled;
        cancel.stream = stream;
        cancel.seq = next_index;
        cancel.text.clear();
      }
      if (out_.push(batch.data(), m, control_.backend_stop) < m) break;
      stats_.terminals_sent += m;
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
  stats_.usage = meter.finish();
}

}  // namespace aiway
