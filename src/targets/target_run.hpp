// One repetition against a conductor target (target.kind = "aiway"): the
// harness starts its upstream (an Ollama-style server) and, unless told to
// connect to a running one, the conductor; connects its surfaces, measures
// the idle conductor, asks, reads every token at every surface, and keeps
// the books as for the model pipeline: every token the upstream sent is
// delivered, or missing with its sequence number known.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "measure/process_stats.hpp"
#include "targets/target_process.hpp"

namespace aiway {

struct TargetOutcome {
  Repetition repetition;
  std::string failure;  // the target could not be started, crashed, or the run timed out
  bool interrupted = false;
};

TargetOutcome run_target_repetition(const Scenario& s, const std::atomic<bool>* interrupt);

// What was read of a target process around the measured part.
struct TargetSamples {
  std::optional<ProcSample> cpu_before, cpu_after, rss_before, rss_end;
  std::int64_t rss_peak = 0;
  double runnable_share = 0;
  double idle_share = -1, idle_runnable = -1;  // -1: not measured
};
// The target process's metrics (CPU, runnable share, RSS, how it ended) and
// the harness's own CPU and RSS; the target's CPU is not foreign.
void set_process_metrics(const TargetSamples& samples, TargetProcess* process, const CpuUsage& usage, Metrics& m);

// The command as it will run: {socket} and {self} substituted, --legacy
// appended for the reference conductor.
std::vector<std::string> target_command(const Scenario& s, const std::string& socket);

}  // namespace aiway
