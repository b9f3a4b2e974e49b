#include "compare/attribution.hpp"

#include <fmt/format.h>

#include <cmath>

#include "compare/statistics.hpp"
#include "compare/verdict.hpp"

namespace aiway {
namespace {

constexpr std::pair<const char*, const char*> kStages[] = {{"backend", "instructions_per_token_backend"},
                                                           {"conductor", "instructions_per_token_conductor"},
                                                           {"surface", "instructions_per_token_surface"}};

std::optional<double> median_of(const ScenarioResult& r, const std::string& metric) {
  const auto values = metric_values(r.repetitions, metric);
  if (values.empty()) return std::nullopt;
  return median(values);
}

std::string signed_percent(double change) { return fmt::format("{:+.1f} %", change * 100); }

}  // namespace

std::string_view to_string(ChangeCause cause) {
  switch (cause) {
    case ChangeCause::machine: return "the machine";
    case ChangeCause::software: return "the software";
    case ChangeCause::unknown: return "unknown";
  }
  return "?";
}

MachineAttribution attribute_change(const ScenarioResult& base, const ScenarioResult& current, double threshold) {
  MachineAttribution out;
  if (!schedule_bound(current.scenario)) {
    const auto b = median_of(base, "throughput_tps"), n = median_of(current, "throughput_tps");
    if (b && n && *b > 0 && *n > 0) out.time_change = *b / *n - 1;
  }
  double base_total = 0, new_total = 0;
  bool software = false;
  for (const auto& [stage, metric] : kStages) {
    const auto b = median_of(base, metric), n = median_of(current, metric);
    if (!b || !n || *b <= 0) continue;
    base_total += *b;
    new_total += *n;
    out.stage_changes.emplace_back(stage, *n / *b - 1);
    software |= std::fabs(*n / *b - 1) > threshold;
  }
  const std::string time = out.time_change ? signed_percent(*out.time_change) + " time per token"
                                           : std::string("time set by its schedule");
  if (out.stage_changes.empty()) {
    out.says = fmt::format("{}; no instruction counts on both sides, so the machine cannot be told from the software "
                           "(run --count-instructions)", time);
    return out;
  }
  out.instruction_change = new_total / base_total - 1;
  if (!software) {
    out.cause = ChangeCause::machine;
    out.says = out.time_change ? fmt::format("this machine: {} time at equal work (instructions {})",
                                             signed_percent(*out.time_change), signed_percent(*out.instruction_change))
                               : fmt::format("equal work (instructions {}); its time is set by its schedule",
                                             signed_percent(*out.instruction_change));
    return out;
  }
  out.cause = ChangeCause::software;
  std::string stages;
  for (const auto& [stage, change] : out.stage_changes)
    if (std::fabs(change) > threshold) stages += fmt::format("{}{} {}", stages.empty() ? "" : ", ", stage, signed_percent(change));
  out.says = fmt::format("the software: instructions per token {} ({}); {}", signed_percent(*out.instruction_change),
                         stages, time);
  return out;
}

}  // namespace aiway
