// A target kind: what is measured (the in-process pipeline model, an ai-way
// conductor process, an HTTP path through a proxy). Each kind is one folder
// under targets/ behind this interface; the registry (targets/registry.cpp)
// is the one place that maps a TargetKind to its room. The runner keeps the
// repetitions, re-runs and verdicts; a target runs one repetition.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "measure/clock.hpp"

namespace aiway {

// What the runner gives one repetition.
struct RepetitionContext {
  const Clock& clock;
  const std::atomic<bool>* interrupt = nullptr;  // set from a signal handler: stop soon
  // The process's RSS before the scenario's first repetition, from a trimmed
  // heap (the model target measures its growth from it).
  std::int64_t rss_baseline = 0;
  std::uint32_t index = 0;  // the measured repetition's number from 0 (a common start time counts from it)
};

struct RepetitionOutcome {
  Repetition repetition;
  std::map<std::string, CounterInfo> counters;  // the stages' own, declared
  std::string failure;  // could not start, crashed, timed out or stalled
  bool interrupted = false;
};

class Target {
 public:
  virtual ~Target() = default;
  // Throws InputError (exit 2, naming the field) when this machine cannot
  // give the scenario what it needs, before any repetition runs.
  virtual void check_before_run(const Scenario& s, double unix_now) const;
  virtual RepetitionOutcome run_repetition(const Scenario& s, const RepetitionContext& context) const = 0;
  // The user's stages this target builds in this process ("backend mine")
  // that were compiled without optimisation; their figures are not the code's.
  virtual std::vector<std::string> unoptimized_stages(const Scenario& s) const;
  // The stages run in this process, each called through pipeline/stage_work.hpp:
  // what run --count-instructions counts. Elsewhere (another process, behind
  // a socket) an instruction count would see only the harness's side.
  virtual bool stages_in_this_process() const { return false; }
  // The console's section for one scenario: its set-up, then its results.
  virtual void print_results(const ScenarioResult& r, std::ostream& out) const = 0;
};

// The room for the scenario's target.kind.
const Target& target_of(const Scenario& s);

}  // namespace aiway
