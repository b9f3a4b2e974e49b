// Descriptive statistics over repetitions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

double median(std::vector<double> values);
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

}  // namespace aiway
