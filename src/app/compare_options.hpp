// The options every comparing command takes (compare, run --baseline, ab,
// report), the metric policies they set, and the gate: the comparison
// printed and turned into an exit code.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "app/command.hpp"
#include "aiway/results.hpp"
#include "compare/verdict.hpp"

namespace aiway::app {

struct CompareArgs {
  std::string format = "console";
  CompareOptions options;
  std::vector<std::string> thresholds;  // METRIC=FRACTION
  bool fail_on_inconclusive = false;
  bool quiet = false;  // -q: the console comparison's verdict line only, as run -q prints its verdicts only
};

// gate_options: also --fail-on-inconclusive (commands that decide an exit code).
void add_compare_options(CLI::App* command, CompareArgs& args, bool gate_options);
// The default policies with --threshold METRIC=FRACTION applied; throws ScenarioError for a bad one.
std::vector<MetricPolicy> policies_with(const std::vector<std::string>& overrides);
// Prints the comparison; returns the gate's exit code. comparison: a copy of it, when wanted.
int gate(const RunResults& base, const RunResults& current, const CompareArgs& args, std::ostream& out = std::cout,
         Comparison* comparison = nullptr);

}  // namespace aiway::app
