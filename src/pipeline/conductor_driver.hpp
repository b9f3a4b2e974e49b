// The conductor's driver: takes batches off the token channel, waits for the
// network hop's arrivals, stamps t1, hands the data tokens to the conductor
// stage and forwards what it emits, forwards every terminal itself, reports a
// backend that went away, and answers a quit by sending ShuttingDown (over the
// control lane ahead of any queued data, or in band behind it) and draining.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"
#include "aiway/token.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/busy_work.hpp"
#include "measure/clock.hpp"
#include "pipeline/control_lane.hpp"
#include "pipeline/stage_work.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {

struct ConductorStats {
  std::uint64_t tokens_in = 0;           // data tokens handed to the stage
  std::uint64_t commands_executed = 0;   // commands the stage emitted
  std::uint64_t dropped_by_stage = 0;    // data tokens the stage did not forward
  std::uint64_t discarded_at_shutdown = 0;  // data tokens dropped after quit, by design
  bool shutdown_dropped = false;            // an in-band ShuttingDown the full surface channel dropped
  std::uint64_t transcript_bytes = 0;    // what the stage retains at the end
  std::uint64_t streams_disconnected = 0;  // the backend went away before the stream's terminal item
  std::uint64_t responses_cancelled = 0;   // cancelled by a new request mid-stream
  StageUsage usage;  // CPU time and allocations of the stage's thread
  std::vector<StageCounter> counters;  // the stage's own
};

class ConductorDriver {
 public:
  ConductorDriver(const Scenario& scenario, const Clock& clock, ConductorStage& stage, std::uint32_t streams,
                  TokenChannel& in, TokenChannel& out, ControlLane& control);
  void run();

  const ConductorStats& stats() const { return stats_; }
  const std::atomic<std::uint64_t>& progress() const { return progress_; }

 private:
  friend void harness_work::conductor_output_full(void* driver);
  void make_room();
  bool await_arrival(std::int64_t arrives_ns);
  std::size_t hand_over(std::size_t from, std::size_t count);
  void end_stream(Token& terminal);
  void shut_down();
  void report_disconnected();
  void forward();

  const Scenario& scenario_;
  const Clock& clock_;
  ConductorStage& stage_;
  TokenChannel& in_;
  TokenChannel& out_;
  ControlLane& control_;
  std::vector<std::uint8_t> stream_open_;  // started (a token seen) and not yet terminated (bytes, not bits: read per token)
  std::span<Token> batch_;  // what in_ lent this round
  std::vector<Token> outbox_;  // the stage's output when it cannot go into the surface channel's slots
  const bool in_place_;        // the stage writes into the surface channel's slots
  ConductorOutput output_;
  bool stopped_ = false;  // a quit or abort interrupted a push: what is still forwarded is discarded
  PlantedWork planted_;
  std::int64_t t1_ = 0;
  ConductorStats stats_;
  std::atomic<std::uint64_t> progress_{0};
};

}  // namespace aiway
