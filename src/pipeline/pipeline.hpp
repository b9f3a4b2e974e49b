// One repetition's pipeline: backend -> token channel -> conductor -> surface
// channel -> surface, each stage on its own thread, plus the control lane.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"
#include "measure/clock.hpp"
#include "pipeline/backend_driver.hpp"
#include "pipeline/canary_injector.hpp"
#include "pipeline/conductor_driver.hpp"
#include "pipeline/control_lane.hpp"
#include "pipeline/surface_driver.hpp"
#include "measure/resource_sampler.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {

// Where each stage is, for the watchdog and for a timeout's diagnosis.
struct PipelineProgress {
  std::uint64_t backend_sent = 0;
  std::uint64_t conductor_in = 0;
  std::uint64_t surface_delivered = 0;
  std::int64_t channel_depth = 0;
  std::int64_t surface_channel_depth = 0;
  bool backend_done = false, conductor_done = false, surface_done = false;
};

class Pipeline {
 public:
  // The stages are the workload; the pipeline's drivers keep the books around them.
  Pipeline(const Scenario& scenario, const Clock& clock, StageSet stages);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();
  // Waits until every stage has finished or CLOCK_MONOTONIC reaches deadline_ns.
  bool wait_until(std::int64_t deadline_ns);
  // Stops every stage at once (timeout, interrupt); waits for the threads.
  void abort();
  PipelineProgress progress() const;

  // Gauges for the resource sampler.
  std::vector<Gauge> depth_gauges() const;

  // Valid after wait_until() returned true or abort().
  const BackendStats& backend() const { return backend_.stats(); }
  const ConductorStats& conductor() const { return conductor_.stats(); }
  const SurfaceStats& surface() const { return surface_.stats(); }
  const DeliveryLatencies& latencies() const { return surface_.latencies(); }
  const std::vector<StreamDelivery>& streams() const { return surface_.streams(); }
  const ChannelStats& channel() const { return channel_.stats(); }
  const PlantedFaults& planted() const { return canaries_.planted(); }
  const ChannelStats& surface_channel() const { return surface_channel_.stats(); }
  const ControlLane& control() const { return control_; }
  // A stage that threw (std::bad_alloc above all) stopped the pipeline: what
  // and where ("conductor: std::bad_alloc"); empty when none did.
  std::string stage_failure() const;
  std::uint32_t stream_count() const { return streams_; }
  // The longest wait the backend stage's own schedule plans (a trace's gaps).
  double source_wait_s() const { return double(stages_.backend->longest_gap_ns()) / 1e9; }

 private:
  void join();
  void stage_finished(std::atomic<bool>& flag);
  // Runs a stage's body; an exception stops every stage instead of terminating the process.
  template <class Body>
  void guarded(const char* stage, Body&& body);
  void request_stop();

  const Scenario& scenario_;
  const Clock& clock_;
  StageSet stages_;
  std::uint32_t streams_;
  ControlLane control_;
  TokenChannel channel_;
  CanaryInjector canaries_;  // the backend pushes through it into channel_
  TokenChannel surface_channel_;
  BackendDriver backend_;
  ConductorDriver conductor_;
  SurfaceDriver surface_;
  std::int64_t start_ns_ = 0;

  std::atomic<bool> backend_done_{false}, conductor_done_{false}, surface_done_{false};
  std::atomic<int> running_{0};
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<std::thread> threads_;
  std::string stage_failure_;  // under mutex_
};

}  // namespace aiway
