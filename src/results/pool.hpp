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

// Runs of one workload from several processes or machines as one result
// (`merge`): the repetitions pooled as above, from any machines, refusing only
// a different workload (backend, hop1, control, faults); and per scenario the
// sum of every repetition's latency histogram, whose percentiles are the
// merged result's -- never an average of percentiles. Throws InputError for a
// different workload, an interrupted run, or a repetition without its
// histogram (results from before 0.2).
// Shards of one HTTP load (target.shard K/N) merge differently: every K of N
// must be there once, and repetition k of each shard becomes one repetition
// of the whole load, its stream figures derived again from all the streams
// and judged again against the scenario's limits.
RunResults merge_runs(std::vector<RunResults> runs, const std::vector<std::string>& sources);

}  // namespace aiway
