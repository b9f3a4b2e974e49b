// The metrics every process target writes alike: the target process's CPU,
// runnable share, RSS and how it ended, and the harness's own CPU and RSS.
#pragma once

#include <cstdint>
#include <optional>

#include "aiway/results.hpp"
#include "measure/process_stats.hpp"
#include "targets/process/target_process.hpp"

namespace aiway {

// How long a started target gets to leave after SIGTERM before SIGKILL.
inline constexpr double kStopGraceMs = 2000;

// What was read of a target process around the measured part.
struct TargetSamples {
  std::optional<ProcSample> cpu_before, cpu_after, rss_before, rss_end;
  std::int64_t rss_peak = 0;
  double runnable_share = 0;
  double idle_share = -1, idle_runnable = -1;  // -1: not measured
};
// The target's CPU is measured, not foreign: only what neither the harness
// nor the target used counts as other work on the machine.
void set_process_metrics(const TargetSamples& samples, TargetProcess* process, const CpuUsage& usage, Metrics& m);

}  // namespace aiway
