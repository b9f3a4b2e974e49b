// A run judged against the recent runs of its machine (history check): for
// every gating metric, the new run's median against a one-sided prediction
// interval of the last N runs' medians, on log values (speed figures are
// ratios; their noise is multiplicative). A regression must also be larger
// than the metric's practical threshold; p-values are Holm-adjusted over the
// gating metrics, as compare does.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "aiway/results.hpp"
#include "compare/verdict.hpp"

namespace aiway {

struct HistoryVerdict {
  std::string scenario, metric;
  std::size_t runs = 0;          // prior runs the interval came from
  double typical = 0;            // their typical median (geometric mean)
  double new_median = 0;
  double change = 0;             // new / typical - 1
  double p_value = 1, p_adjusted = 1;
  Verdict verdict = Verdict::unchanged;
  std::string reason;
  // When the new run kept repetitions other work disturbed: what it says
  // ("3 of 9 repetitions ran while ..."), and for a rate the one-sided p of
  // its median with each disturbed repetition credited (compare/disturbance.hpp).
  std::string disturbed;
  double credited_change = 0, credited_p = 1;
  CountVerdict counts;  // a count of work's verdict (MetricPolicy::counted), before the history's length is checked
};

struct HistoryCheck {
  std::vector<HistoryVerdict> verdicts;
  bool regressed() const;
  bool inconclusive() const;
  std::string headline() const;
};

// Fewer prior runs than this: inconclusive (an interval from two points says little).
constexpr std::size_t kMinHistoryRuns = 3;

// prior(scenario, metric): the per-run medians of the runs to judge against, oldest first.
using PriorMedians = std::function<std::vector<double>(const std::string& scenario, const std::string& metric)>;
HistoryCheck check_against_history(const RunResults& current, const PriorMedians& prior,
                                   const std::vector<MetricPolicy>& policies, double alpha = 0.05);

}  // namespace aiway
