#include "aiway/sweep.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>

#include "aiway/scenario_file.hpp"

namespace aiway {

std::vector<SweepCombination> sweep_combinations(const std::vector<std::string>& sweeps) {
  std::vector<SweepCombination> out;
  if (sweeps.empty()) return out;
  out.emplace_back();
  std::vector<std::string> fields;
  for (const auto& sweep : sweeps) {
    const auto eq = sweep.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == sweep.size())
      throw ScenarioError(fmt::format("--sweep {}: expected SECTION.KEY=V1,V2,...", sweep));
    const std::string field = sweep.substr(0, eq);
    if (std::find(fields.begin(), fields.end(), field) != fields.end())
      throw ScenarioError(fmt::format("--sweep {}: {} is swept twice: give all its values in one --sweep", sweep, field));
    fields.push_back(field);
    std::vector<std::string> values;
    std::stringstream list(sweep.substr(eq + 1));
    for (std::string v; std::getline(list, v, ',');) {
      if (v.empty()) throw ScenarioError(fmt::format("--sweep {}: an empty value", sweep));
      values.push_back(v);
    }
    if (double(out.size()) * double(values.size()) > double(kMaxSweepCombinations))
      throw ScenarioError(fmt::format("--sweep {}: the grid would have {:.0f} combinations, more than {}", sweep,
                                      double(out.size()) * double(values.size()), kMaxSweepCombinations));
    std::vector<SweepCombination> grown;
    for (const auto& combination : out)
      for (const auto& v : values) {
        SweepCombination c = combination;
        c.emplace_back(field, v);
        grown.push_back(std::move(c));
      }
    out = std::move(grown);
  }
  return out;
}

std::vector<SweepVariant> expand_sweeps(const std::vector<Scenario>& scenarios, const std::vector<std::string>& sweeps) {
  const std::vector<SweepCombination> combinations = sweep_combinations(sweeps);
  std::vector<SweepVariant> out;
  for (const auto& s : scenarios) {
    if (combinations.empty()) {
      out.push_back({s, {}});
      continue;
    }
    for (const auto& combination : combinations) {
      SweepVariant variant{s, combination};
      std::vector<std::string> assignments;
      for (const auto& [field, value] : combination) assignments.push_back(fmt::format("{}={}", field, value));
      try {
        apply_overrides(variant.scenario, assignments);
      } catch (const ScenarioError& e) {
        std::string message = e.what();  // "--set FIELD=V: why": it came from --sweep
        if (message.rfind("--set ", 0) == 0) message.replace(0, 6, "--sweep ");
        throw ScenarioError(message);
      }
      variant.scenario.name = fmt::format("{}[{}]", s.name, fmt::join(assignments, ","));
      out.push_back(std::move(variant));
    }
  }
  return out;
}

}  // namespace aiway
