#include "results/pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>

#include "aiway/input_error.hpp"
#include "aiway/scenario_file.hpp"
#include "compare/statistics.hpp"

namespace aiway {
namespace {

// The first field in which two runs of a scenario differ, other than how many
// repetitions they took: pooling those would mix two workloads.
std::optional<std::string> workload_difference(const Scenario& a, const Scenario& b) {
  const auto fa = scenario_fields(a), fb = scenario_fields(b);
  for (std::size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
    const std::string name = fa[i].section.empty() ? fa[i].key : fa[i].section + "." + fa[i].key;
    if (name != "repetitions" && name != "warmup" && !(fa[i] == fb[i])) return name;
  }
  return std::nullopt;
}

}  // namespace

void append_repetitions(ScenarioResult& into, ScenarioResult&& from) {
  for (auto& rep : from.repetitions) into.repetitions.push_back(std::move(rep));
  into.disturbed_reruns.insert(into.disturbed_reruns.end(), from.disturbed_reruns.begin(), from.disturbed_reruns.end());
}

RunResults pool_runs(std::vector<RunResults> runs, const std::vector<std::string>& sources) {
  if (runs.empty()) throw InputError("no results to pool");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].interrupted) throw InputError(fmt::format("{}: an interrupted run is no baseline", sources[i]));
    if (runs[i].machine.fingerprint != runs[0].machine.fingerprint)
      throw InputError(fmt::format("{}: machine {} is not {}'s ({}): pool runs of one machine class only", sources[i],
                                   runs[i].machine.fingerprint, sources[0], runs[0].machine.fingerprint));
  }
  RunResults out = std::move(runs[0]);
  std::vector<Calibration> calibrations;
  if (out.machine.calibration) calibrations.push_back(*out.machine.calibration);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    RunResults& run = runs[i];
    if (run.machine.calibration) calibrations.push_back(*run.machine.calibration);
    out.method.processes += run.method.processes;
    out.method.interleave = out.method.interleave && run.method.interleave;
    out.passed = out.passed && run.passed;
    for (auto& s : run.scenarios) {
      auto into = std::find_if(out.scenarios.begin(), out.scenarios.end(),
                               [&](const ScenarioResult& o) { return o.scenario.name == s.scenario.name; });
      if (into == out.scenarios.end()) {
        out.scenarios.push_back(std::move(s));
        continue;
      }
      if (const auto field = workload_difference(into->scenario, s.scenario))
        throw InputError(fmt::format("{}: scenario {} ran with another {} than in {}: pool runs of one workload only",
                                     sources[i], s.scenario.name, *field, sources[0]));
      into->passed = into->passed && s.passed;
      if (into->failure.empty()) into->failure = s.failure;
      append_repetitions(*into, std::move(s));
    }
  }
  if (!calibrations.empty()) {
    // A measured calibration, not an average of several: the run with the median score.
    std::sort(calibrations.begin(), calibrations.end(), [](const auto& a, const auto& b) { return a.score < b.score; });
    out.machine.calibration = calibrations[calibrations.size() / 2];
  }
  for (auto& s : out.scenarios) {
    s.summary = summarize(s.repetitions);
    s.thresholds.clear();
  }
  return out;
}

}  // namespace aiway
