// Runs scenarios: warm-up, repetitions (each a fresh pipeline), the watchdog
// (timeout, stalled stage), interrupts, and aggregation into a ScenarioResult.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "measure/clock.hpp"

namespace aiway {

struct RunEvent {
  enum class Kind { repetition_started, repetition_finished } kind;
  const Scenario& scenario;
  std::uint32_t index;  // 1-based
  std::uint32_t count;
  bool warmup;
  const Repetition* repetition;  // finished only
};

struct RunOptions {
  const std::atomic<bool>* interrupt = nullptr;  // set from a signal handler: stop soon
  std::function<void(const RunEvent&)> on_event;
};

// Runs one scenario. `failure` in the result is set on a timeout or stall;
// `interrupted` is set when options.interrupt fired.
ScenarioResult run_scenario(const Scenario& scenario, const Clock& clock, const RunOptions& options,
                            bool& interrupted);

}  // namespace aiway
