// Other work on the machine during a repetition, and what it can explain.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

// A repetition's foreign CPU share (other work on the machine, as a share of
// wall x CPUs) when it is over the scenario's measure.max_foreign_cpu: then it
// measured a busier machine, not this build.
std::optional<double> disturbed_share(const Scenario& scenario, const Repetition& repetition);
struct Disturbance {
  std::size_t disturbed = 0;   // kept repetitions over the limit (re-runs ran out)
  std::size_t repetitions = 0;
  double max_share = 0;        // the largest foreign share among them
  double limit = 0;
  std::size_t reruns = 0;      // repetitions discarded and taken again
};
Disturbance disturbance_of(const ScenarioResult& result);
// A calibration during which other work used over 10 % of the machine's CPU:
// its score is low by an unknown amount.
bool calibration_disturbed(const Calibration& calibration);
// "3 of 9 repetitions ran while other work used up to 51 % of the machine's
// CPU (limit 10 %)"; empty when none did.
std::string describe_disturbed(const Disturbance& d);

// The largest factor by which other work using `foreign_share` of the
// machine's CPU can slow a rate of work (tokens/s) of this build.
// Derivation (docs/gate.md): the scheduler shares the CPUs fairly among
// runnable threads, so k threads of ours beside m foreign ones on n CPUs
// keep at least k / (k + m) = 1 - f of what they had alone, whatever k, m
// and n; a factor kSchedulingMargin covers what fair shares do not (SMT
// siblings, caches and memory bandwidth shared with the other work).
inline constexpr double kSchedulingMargin = 2.0;
double explainable_slowdown(double foreign_share);
// A rate metric's values with each disturbed repetition's value raised by
// what its disturbance can explain: the most the rate could have been on a
// quiet machine. Undisturbed repetitions keep their value. In the order of
// metric_values(result.repetitions, metric).
std::vector<double> undisturbed_rate_bounds(const ScenarioResult& result, const std::string& metric);

}  // namespace aiway
