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


// Numbers for people: 1234567 -> "1.23M", 0.000157 -> "0.000157", never an
// exponent (3 significant digits).
std::string plain_number(double v);
// A p-value for people: "0.0040", or "< 0.0001" below that.
std::string plain_p(double p);

// "interrupted after 3 of 40 repetitions"; empty when the run was not interrupted.
std::string describe_interrupted(const RunResults& results);

}  // namespace aiway
