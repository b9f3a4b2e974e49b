// Results of several runs taken as one. Repetitions of one run sample the
// machine over a few minutes; a baseline pooled over runs on different days
// also samples its slower drift, which no count of repetitions in one run can.
#pragma once

#include <vector>

#include "aiway/results.hpp"

namespace aiway {

// Appends from's repetitions, and the disturbed ones it discarded, to into's.
void append_repetitions(ScenarioResult& into, ScenarioResult&& from);

// Every scenario's repetitions from all runs, in run order; the first run's
// machine and tool, the calibration with the median score. Refuses (throws
// InputError) runs from different machine fingerprints and interrupted runs.
// Summaries are recomputed; threshold results, which judged one run, are not
// carried over.
RunResults pool_runs(std::vector<RunResults> runs, const std::vector<std::string>& sources);

}  // namespace aiway
