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
// The headline metrics whose instability every output format warns about.
std::vector<std::string> unstable_headline_metrics(const ScenarioResult& result);

}  // namespace aiway
