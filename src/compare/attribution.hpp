// Comparing machines, attributed. A figure of time moves with the machine and
// with the software; a count of work (instructions per token, from
// run --count-instructions) moves only with the software. Side by side they
// tell the two apart: equal instructions and a different time are the
// machine; different instructions are the software (and then how much of the
// time is the machine's cannot be split off: a changed instruction mix does
// not cost time in proportion).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

enum class ChangeCause { machine, software, unknown };
std::string_view to_string(ChangeCause cause);

struct MachineAttribution {
  // Time per token, new / base - 1, from the median throughputs; absent when
  // the scenario's schedule sets its pace (paced, or a network hop).
  std::optional<double> time_change;
  // Every counted stage's instructions per token together, new / base - 1;
  // absent when a side has no counts.
  std::optional<double> instruction_change;
  std::vector<std::pair<std::string, double>> stage_changes;  // "conductor" -> change, stages counted on both sides
  ChangeCause cause = ChangeCause::unknown;
  std::string says;  // "this machine: -31 % time at equal work (instructions +0.0 %)"
};

// `threshold`: the relative change in a stage's instructions that is the
// software's (the counted metrics' gate, 1 %).
MachineAttribution attribute_change(const ScenarioResult& base, const ScenarioResult& current, double threshold = 0.01);

}  // namespace aiway
