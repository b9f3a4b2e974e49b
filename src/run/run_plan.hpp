// How a run's scenarios are taken: one after another in this process, taking
// turns a repetition at a time (interleaved), or spread over fresh worker
// processes. The CLI chooses; this runs it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "measure/clock.hpp"
#include "run/runner.hpp"

namespace aiway {

struct RunPlan {
  std::vector<Scenario> scenarios;  // resolved, in the order they run
  std::uint32_t processes = 1;      // > 1: repetitions spread over this many fresh processes
  bool interleave = false;          // scenarios take turns, one repetition at a time
  const std::atomic<bool>* interrupt = nullptr;
  std::function<void(const RunEvent&)> on_event;  // in this process only
  std::function<void(std::uint32_t worker, std::uint32_t count)> on_process_started;
};

// Runs the plan; each scenario's result goes to on_result as soon as it is
// final (in plan order). `interrupted` is set when a stop was requested.
void execute(const RunPlan& plan, const Clock& clock, bool& interrupted,
             const std::function<void(ScenarioResult)>& on_result);

}  // namespace aiway
