// The backend's driver: asks the backend stage (the token source) for tokens,
// numbers them per stream, hashes their clean text, paces them on a schedule
// (start + j / rate, or the source's own; never a sleep per token), batches
// them, plants the backend faults, and ends every stream with its terminal
// (Complete, or Error when the fault asks for it).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"
#include "aiway/token.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/clock.hpp"
#include "pipeline/control_lane.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {

struct BackendStats {
  std::uint64_t tokens_sent = 0;   // data tokens handed to the token channel
  std::uint64_t bytes_sent = 0;    // their clean payload bytes
  std::uint64_t commands_planted = 0;
  std::int64_t start_ns = 0;       // the request: schedule origin, TTFT origin
  std::int64_t producer_lag_max_ns = 0;
  std::uint64_t wakeups = 0;       // sleeps of a paced backend: its cost is mostly these
  StageUsage usage;  // CPU time and allocations of the stage's thread
  std::vector<StageCounter> counters;  // the stage's own
};

class BackendDriver {
 public:
  BackendDriver(const Scenario& scenario, const Clock& clock, BackendStage& source, TokenProducer& out,
                ControlLane& control);
  // The thread body; start_ns is the request time and the schedule's origin.
  void run(std::int64_t start_ns);

  const BackendStats& stats() const { return stats_; }
  const std::atomic<std::uint64_t>& progress() const { return progress_; }

 private:
  void request_quit();
  bool sleep_until(std::int64_t due_ns);

  const Scenario& scenario_;
  const Clock& clock_;
  BackendStage& source_;
  TokenProducer& out_;
  ControlLane& control_;
  std::vector<std::uint64_t> next_seq_;  // per stream
  std::vector<std::uint8_t> ended_;      // per stream: its terminal was sent (bytes: a bit vector cost 11 instructions a token)
  BackendStats stats_;
  std::atomic<std::uint64_t> progress_{0};
};

}  // namespace aiway
