// Descriptive statistics over repetitions.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

double median(std::vector<double> values);
// Bootstrap 95 % interval of the median (resamples seeded: reproducible).
std::pair<double, double> bootstrap_median_interval(const std::vector<double>& values, int resamples = 2000,
                                                    std::uint64_t seed = 1);
MetricSummary summarize(const std::vector<double>& values);
// One summary per metric, in the order the first repetition lists them; a
// metric missing from some repetitions is summarised over those that have it.
std::vector<std::pair<std::string, MetricSummary>> summarize(const std::vector<Repetition>& repetitions);
std::vector<double> metric_values(const std::vector<Repetition>& repetitions, const std::string& metric);
// One metric's summary in a scenario result; null when no repetition measured it.
const MetricSummary* find_summary(const ScenarioResult& result, const std::string& metric);
// Its median, 0 when no repetition measured it.
double summary_median(const ScenarioResult& result, const std::string& metric);
// The headline metrics whose instability every output format warns about.
std::vector<std::string> unstable_headline_metrics(const ScenarioResult& result);


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
// Numbers for people: 1234567 -> "1.23M", 0.000157 -> "0.000157", never an
// exponent (3 significant digits).
std::string plain_number(double v);
// A p-value for people: "0.0040", or "< 0.0001" below that.
std::string plain_p(double p);

// "interrupted after 3 of 40 repetitions"; empty when the run was not interrupted.
std::string describe_interrupted(const RunResults& results);

}  // namespace aiway
