// The Conductor stage: strips [yolla:…] commands (state carried across
// tokens), validates and forwards each as a UI message, keeps the transcript,
// forwards the token, and answers a quit by sending ShuttingDown over the
// control lane ahead of any queued data.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/token.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/busy_work.hpp"
#include "measure/clock.hpp"
#include "pipeline/command_parser.hpp"
#include "pipeline/control_lane.hpp"
#include "pipeline/token_channel.hpp"
#include "pipeline/transcript.hpp"

namespace aiway {

struct ConductorStats {
  std::uint64_t tokens_in = 0;
  std::uint64_t commands_executed = 0;
  std::uint64_t commands_rejected = 0;   // invalid, or over max_commands per response
  std::uint64_t discarded_at_shutdown = 0;  // data tokens dropped after quit, by design
  bool shutdown_dropped = false;            // an in-band ShuttingDown the full surface channel dropped
  std::uint64_t transcript_bytes = 0;    // retained at the end
  std::uint64_t streams_disconnected = 0;  // the backend went away before the stream's terminal item
  std::uint64_t responses_cancelled = 0;   // cancelled by a new request mid-stream
  StageUsage usage;  // CPU time and allocations of the stage's thread
};

class Conductor {
 public:
  Conductor(const Scenario& scenario, const Clock& clock, TokenChannel& in, TokenChannel& out, ControlLane& control);
  void run();

  const ConductorStats& stats() const { return stats_; }
  const std::atomic<std::uint64_t>& progress() const { return progress_; }

 private:
  void process(Token& token);
  bool await_arrival(std::int64_t arrives_ns);
  void shut_down();
  void report_disconnected();
  bool forward();

  const Scenario& scenario_;
  const Clock& clock_;
  TokenChannel& in_;
  TokenChannel& out_;
  ControlLane& control_;
  std::vector<CommandParser> parsers_;
  std::vector<Transcript> transcripts_;
  std::vector<std::uint32_t> commands_this_response_;
  std::vector<bool> stream_open_;  // started (a token seen) and not yet terminated
  std::vector<Token> inbox_;
  std::vector<Token> outbox_;
  std::size_t outbox_size_ = 0;
  std::string clean_;
  BusyWork extra_work_;
  std::int64_t t1_ = 0;
  ConductorStats stats_;
  std::atomic<std::uint64_t> progress_{0};
};

}  // namespace aiway
