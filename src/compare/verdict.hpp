// Verdicts on the change of a metric between two sets of repetitions: a
// regression must be both statistically significant (Mann–Whitney U, Holm-
// adjusted over every metric compared, so that an A/A comparison of ~100
// metrics raises a false alarm at most alpha of the time) and larger than the
// metric's practical threshold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

enum class Verdict { improved, regressed, unchanged, inconclusive };
std::string_view to_string(Verdict verdict);

struct MetricPolicy {
  std::string metric;
  bool higher_is_better;
  double threshold;  // relative change that matters in practice, e.g. 0.05
  double floor = 0;  // and an absolute change below this never matters (allocator noise in RSS)
  // A figure of speed (throughput, a time): on a faster machine it is better by
  // the ratio of the calibration scores, so across machines it is normalised.
  bool scales_with_machine = false;
  bool from_command_line = false;  // then a scenario's [compare] does not override it
};
// The metrics the gate judges, their directions and default thresholds.
std::vector<MetricPolicy> default_policies();
// The policies with a scenario's [compare] thresholds applied (the command line's stay).
std::vector<MetricPolicy> policies_for(const std::vector<MetricPolicy>& policies, const Scenario& scenario);

struct ConfidenceInterval {
  double low = 0, high = 0;
};
// Bootstrap 95 % interval of median(new) / median(base) - 1, from `resamples`
// resamples of each side (seeded, so a comparison is reproducible).
ConfidenceInterval bootstrap_median_change(const std::vector<double>& base, const std::vector<double>& current,
                                           int resamples = 2000, std::uint64_t seed = 1);

struct MetricComparison {
  std::string metric;
  double base_median = 0, new_median = 0;
  double change = 0;  // relative: new / base - 1 (normalised when `normalised`)
  double raw_change = 0;    // before normalisation
  bool normalised = false;  // new figures divided by the machines' speed ratio
  ConfidenceInterval ci;
  double p_value = 1;     // the U test's own
  double p_adjusted = 1;  // Holm-adjusted over every metric of the comparison: the verdict's
  std::size_t family = 1; // how many metrics the adjustment covered
  Verdict verdict = Verdict::unchanged;
  std::string reason;  // why, in a few words
};

// Medians, change, bootstrap interval and the U test's p; no verdict yet.
MetricComparison measure_change(const MetricPolicy& policy, const std::vector<double>& base,
                                const std::vector<double>& current);
// The verdict from c.p_adjusted, for a family of c.family tests at level alpha.
void judge(MetricComparison& c, const MetricPolicy& policy, std::size_t n_base, std::size_t n_new, double alpha);
// One metric on its own (a family of one).
MetricComparison verdict_for(const MetricPolicy& policy, const std::vector<double>& base,
                             const std::vector<double>& current, double alpha = 0.05);

// A whole comparison of two results: every scenario and metric on either side
// is reported; those on one side only are listed, never skipped.
struct ScenarioComparison {
  std::string scenario;
  std::vector<MetricComparison> metrics;
  std::vector<std::string> only_in_base, only_in_new;  // metric names
  // Sides with repetitions that other work on the machine disturbed (re-runs
  // ran out): no change of this scenario is then called a regression.
  std::vector<std::string> disturbed;
};
struct Comparison {
  std::vector<ScenarioComparison> scenarios;
  std::vector<std::string> scenarios_only_in_base, scenarios_only_in_new;
  bool same_machine = true;
  std::string machine_note;
  // new score / base score, when both sides were calibrated on different machines.
  std::optional<double> speed_ratio;
  std::vector<std::string> method_notes;  // e.g. repetitions that all came from one process
  bool regressed() const;
  bool inconclusive() const;
};

Comparison compare_results(const RunResults& base, const RunResults& current, const std::vector<MetricPolicy>& policies,
                           double alpha = 0.05);

}  // namespace aiway
