// run --sla-search FIELD=LO..HI: the highest load at which a scenario's
// service levels hold, found by bisection over repeated runs (as guidellm's
// and AIPerf's sweeps look for the knee, but deciding on goodput). Each probe
// is the scenario with FIELD set to one value, run with its repetitions;
// it holds when it ran to the end and its median goodput_ratio reached the
// target (expect.min_goodput_ratio, else 0.99). The search assumes that more
// load never helps: it probes HI, then LO, then halves the interval until
// neighbouring integers (or 2 % apart for a fractional field).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"

namespace aiway {

struct SlaSearch {
  std::string field;  // SECTION.KEY
  double low = 0, high = 0;
  bool integral = true;  // both bounds written without a decimal point: integer steps
};

// "backend.streams=1..1024"; throws ScenarioError on anything else.
SlaSearch parse_sla_search(const std::string& text);

// One probe's goodput over its repetitions, for the answer's uncertainty.
struct ProbeGoodput {
  double value = 0;  // the field's value probed
  double median = 0, min = 0, max = 0;
  std::size_t repetitions = 0;
  bool held = false;
};

struct SlaOutcome {
  std::vector<ScenarioResult> probes;  // in order of the value probed, each with its sweep entry
  std::optional<double> highest;       // the highest value that held; absent when even LOW did not
  // The bracket the search established: the knee lies above `highest` and
  // at or below the lowest value that missed.
  std::optional<ProbeGoodput> at_highest, at_lowest_missed;
  std::size_t probed = 0;              // probes taken (probes may be moved out)
  double goodput_target = 0.99;
  bool interrupted = false;
};

// The goodput a probe must reach.
double goodput_target(const Scenario& s);
// Whether a probe's result holds the service levels.
bool holds(const ScenarioResult& probe, double target);

// run_probe runs one scenario (the base with FIELD set) and returns its
// result; interrupted() says whether to stop searching.
SlaOutcome sla_search(const Scenario& base, const SlaSearch& search,
                      const std::function<ScenarioResult(const Scenario&)>& run_probe,
                      const std::function<bool()>& interrupted);

// "the highest backend.streams at which 99 % of streams met every [slo]
// objective: 96 (7 probes)", the bracket with each end's goodput spread over
// its repetitions, and any doubt; or why there is none.
std::string describe(const SlaSearch& search, const SlaOutcome& outcome);

}  // namespace aiway
