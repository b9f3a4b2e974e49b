#include "compare/disturbance.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace aiway {

std::optional<double> disturbed_share(const Scenario& scenario, const Repetition& repetition) {
  const double limit = scenario.measure.max_foreign_cpu;
  const auto share = repetition.metrics.get("foreign_cpu_share");
  if (limit <= 0 || !share || *share <= limit) return std::nullopt;
  return share;
}

Disturbance disturbance_of(const ScenarioResult& result) {
  Disturbance d;
  d.repetitions = result.repetitions.size();
  d.limit = result.scenario.measure.max_foreign_cpu;
  d.reruns = result.disturbed_reruns.size();
  for (const auto& r : result.repetitions)
    if (const auto share = disturbed_share(result.scenario, r)) {
      ++d.disturbed;
      d.max_share = std::max(d.max_share, *share);
    }
  return d;
}

bool calibration_disturbed(const Calibration& calibration) {
  return calibration.foreign_cpu_share && *calibration.foreign_cpu_share > 0.10;
}

std::string describe_disturbed(const Disturbance& d) {
  if (d.disturbed == 0) return "";
  return fmt::format("{} of {} repetitions ran while other work used up to {:.0f} % of the machine's CPU (limit {:.0f} %{})",
                     d.disturbed, d.repetitions, d.max_share * 100, d.limit * 100,
                     d.reruns > 0 ? fmt::format(", after {} re-runs", d.reruns) : "");
}

double explainable_slowdown(double foreign_share) {
  // A share of 1 or more (every CPU busy with other work) explains anything.
  if (foreign_share >= 1) return std::numeric_limits<double>::infinity();
  return kSchedulingMargin / (1 - std::max(0.0, foreign_share));
}

std::vector<double> undisturbed_rate_bounds(const ScenarioResult& result, const std::string& metric) {
  std::vector<double> out;
  for (const auto& r : result.repetitions) {
    const auto value = r.metrics.get(metric);
    if (!value) continue;
    const auto share = disturbed_share(result.scenario, r);
    out.push_back(share ? *value * explainable_slowdown(*share) : *value);
  }
  return out;
}

}  // namespace aiway
