// The surface's driver: checks every token (sequence, content), records its
// delivery latencies, hands what is new to the surface stage to display, ticks
// its frames and times them, plants the surface faults, and honours
// ShuttingDown from the control lane ahead of queued data.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "aiway/latency_histogram.hpp"
#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"
#include "aiway/token.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/busy_work.hpp"
#include "measure/clock.hpp"
#include "measure/run_length_recorder.hpp"
#include "pipeline/control_lane.hpp"
#include "pipeline/integrity.hpp"
#include "pipeline/stage_work.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {

// Times measured at the surface, in ns.
struct DeliveryLatencies {
  LatencyHistogram end_to_end;     // t2 - intended send (corrected for coordinated omission)
  LatencyHistogram uncorrected;    // t2 - actual send
  LatencyHistogram hop1;           // t1 - actual send (backend -> conductor)
  LatencyHistogram hop2;           // t2 - t1 (conductor -> surface)
  LatencyHistogram inter_token;    // gap between consecutive tokens of a stream
  LatencyHistogram first_token;    // per stream: first token delivered - request
  LatencyHistogram frame_time;     // one viewport render
};

struct SurfaceStats {
  std::uint64_t delivered = 0;          // unique data tokens received
  std::uint64_t bytes_delivered = 0;
  std::uint64_t duplicated = 0, reordered = 0, corrupted = 0;
  std::uint64_t missing = 0;            // sequence numbers never seen
  std::uint64_t streams_completed = 0, stream_errors = 0;
  std::uint64_t responses_cancelled = 0;
  std::uint64_t commands_displayed = 0;
  std::uint64_t discarded_at_shutdown = 0;
  std::uint64_t frames_rendered = 0;
  bool shutdown_seen_in_band = false;   // ShuttingDown arrived through the data channel
  std::uint64_t retained_bytes = 0;     // what the stage retains at the end (scrollback cells in use)
  std::int64_t last_item_ns = 0;        // the last item processed: end of wall time
  std::int64_t shutting_down_seen_ns = 0;
  StageUsage usage;  // CPU time and allocations of the stage's thread
  std::vector<StageCounter> counters;  // the stage's own
};

// One stream's delivery, for fairness between concurrent conversations.
struct StreamDelivery {
  std::uint64_t delivered = 0;
  std::int64_t last_ns = 0;         // its last token delivered
  std::int64_t latency_p99_ns = 0;  // corrected, end to end
};

class SurfaceDriver {
 public:
  SurfaceDriver(const Scenario& scenario, const Clock& clock, SurfaceStage& stage, std::uint32_t streams,
                TokenChannel& in, ControlLane& control);
  // The thread body; request_ns is when the streams were requested (TTFT origin).
  void run(std::int64_t request_ns);

  const SurfaceStats& stats() const { return stats_; }
  const DeliveryLatencies& latencies() const { return latencies_; }
  const std::atomic<std::uint64_t>& progress() const { return progress_; }
  // Per stream, when there are several streams and latency is measured; after run().
  const std::vector<StreamDelivery>& streams() const { return streams_; }

 private:
  bool check(Token& token, std::int64_t& now);
  void record_run();
  void receive(Token& token);
  bool planted_fault(std::int64_t& now);
  void render();

  const Scenario& scenario_;
  const Clock& clock_;
  SurfaceStage& stage_;
  TokenChannel& in_;
  ControlLane& control_;
  std::vector<StreamIntegrity> integrity_;
  std::vector<std::int64_t> last_delivery_ns_;
  PlantedWork planted_;
  std::int64_t request_ns_ = 0;
  std::vector<LatencyHistogram> stream_latency_;  // fairness: one per stream (2 significant digits)
  std::vector<StreamDelivery> streams_;
  DeliveryLatencies latencies_;
  // The stamps a batch's tokens share at delivery; a run of tokens that share
  // them is recorded once (record_run), and every run before the end of run().
  // The intended send time is not among them: paced, it differs per token.
  struct DeliveryStamps {
    std::int64_t delivered = INT64_MIN, sent = 0, dequeued = 0;
    bool operator==(const DeliveryStamps&) const = default;
  };
  struct {
    DeliveryStamps stamps;
    std::int64_t count = 0;
  } run_;
  // Per-token latencies go through run-length recorders (flushed at the end of run()).
  RunLengthRecorder end_to_end_{latencies_.end_to_end};
  RunLengthRecorder uncorrected_{latencies_.uncorrected};
  RunLengthRecorder hop1_{latencies_.hop1};
  RunLengthRecorder hop2_{latencies_.hop2};
  RunLengthRecorder inter_token_{latencies_.inter_token};
  SurfaceStats stats_;
  std::atomic<std::uint64_t> progress_{0};
};

}  // namespace aiway
