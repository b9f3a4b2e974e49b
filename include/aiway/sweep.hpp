// Parameter sweeps (run --sweep FIELD=V1,V2 ...): every combination of the
// values, each a scenario of its own, as hyperfine's -L/-P do for commands.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "aiway/scenario.hpp"

namespace aiway {

using SweepCombination = std::vector<std::pair<std::string, std::string>>;  // field -> value

// A grid larger than this is refused: it would run for days and its results
// would not fit in memory.
constexpr std::size_t kMaxSweepCombinations = 10'000;

// Every combination of "SECTION.KEY=V1,V2,..." options, the first option
// varying slowest. Throws ScenarioError on a malformed option, a field swept
// twice, or more than kMaxSweepCombinations combinations.
std::vector<SweepCombination> sweep_combinations(const std::vector<std::string>& sweeps);

struct SweepVariant {
  Scenario scenario;  // named "name[field=value,...]"
  SweepCombination combination;
};
// Each scenario once per combination, with its values applied and checked like
// --set (errors name the --sweep option). No sweeps: the scenarios as they are.
std::vector<SweepVariant> expand_sweeps(const std::vector<Scenario>& scenarios, const std::vector<std::string>& sweeps);

}  // namespace aiway
