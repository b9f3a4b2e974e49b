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
  // repetition_discarded: other work disturbed it; it is taken again.
  enum class Kind { repetition_started, repetition_finished, repetition_discarded } kind;
  const Scenario& scenario;
  std::uint32_t index;  // 1-based
  std::uint32_t count;
  bool warmup;
  const Repetition* repetition;  // finished and discarded only
  std::uint32_t reruns = 0;      // disturbed repetitions of this scenario taken again so far
};

struct RunOptions {
  const std::atomic<bool>* interrupt = nullptr;  // set from a signal handler: stop soon
  std::function<void(const RunEvent&)> on_event;
};

// Runs one scenario. `failure` in the result is set on a timeout or stall;
// `interrupted` is set when options.interrupt fired.
ScenarioResult run_scenario(const Scenario& scenario, const Clock& clock, const RunOptions& options,
                            bool& interrupted);

// One scenario's run taken a repetition at a time, so several scenarios can
// take turns (--interleave: A B C A B C ..., slow drift of the machine spreads
// over all of them). The first step runs the warm-up repetitions first.
class ScenarioRun {
 public:
  ScenarioRun(const Scenario& scenario, const Clock& clock, const RunOptions& options);
  // Runs the next measured repetition; false once there is nothing left to run
  // (all done, failed or interrupted). fresh_heap: trim the heap and take a new
  // RSS baseline first, because other work ran since the last step.
  bool step(bool fresh_heap);
  bool interrupted() const { return interrupted_; }
  ScenarioResult finish() &&;

 private:
  bool done();
  void take_rss_baseline();
  void repetition(bool warmup, std::uint32_t index);

  const Clock& clock_;
  const RunOptions& options_;
  ScenarioResult result_;
  std::int64_t rss_baseline_ = 0;
  std::uint32_t reruns_left_;  // for repetitions that other work on the machine disturbed
  bool started_ = false;
  bool interrupted_ = false;
};

// Summary and threshold verdicts from the repetitions (also after merging
// repetitions from worker processes).
void finalize_result(ScenarioResult& result, bool interrupted);

}  // namespace aiway
