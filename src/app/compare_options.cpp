#include "app/compare_options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "aiway/input_error.hpp"
#include "aiway/scenario_file.hpp"
#include "report/comparison_report.hpp"

namespace aiway::app {

// The comparison options every command that compares takes.
void add_compare_options(CLI::App* command, CompareArgs& args, bool gate_options) {
  command->add_option("--alpha", args.options.alpha, "Significance level of the regression test")
      ->check(CLI::Range(0.0001, 0.5));
  command->add_option("--threshold", args.thresholds,
                      "Practical threshold METRIC=FRACTION (repeatable), e.g. throughput_tps=0.05");
  command->add_flag("--strict", args.options.strict, "Advisory (non-gating) metrics decide the exit code too");
  command->add_flag("--allow-different-workload", args.options.allow_different_workload,
                    "Compare scenarios whose workloads differ (noted loudly) instead of refusing them");
  if (gate_options)
    command->add_flag("--fail-on-inconclusive", args.fail_on_inconclusive,
                      "Exit 4 when a gating verdict is inconclusive");
}

std::vector<MetricPolicy> policies_with(const std::vector<std::string>& overrides) {
  auto policies = default_policies();
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) throw ScenarioError(fmt::format("--threshold {}: expected METRIC=FRACTION", o));
    const std::string metric = o.substr(0, eq);
    double value = 0;
    try {
      std::size_t used = 0;
      value = std::stod(o.substr(eq + 1), &used);
      if (used != o.size() - eq - 1 || !(value >= 0 && value < 100)) throw std::invalid_argument("range");
    } catch (const std::exception&) {
      throw ScenarioError(fmt::format("--threshold {}: expected a fraction such as 0.05", o));
    }
    auto it = std::find_if(policies.begin(), policies.end(), [&](const auto& p) { return p.metric == metric; });
    if (it == policies.end()) throw ScenarioError(fmt::format("--threshold {}: {} is not a compared metric", o, metric));
    it->threshold = value;
    it->from_command_line = true;
  }
  return policies;
}

// Prints the comparison; returns the gate's exit code.
int gate(const RunResults& base, const RunResults& current, const CompareArgs& args, std::ostream& out,
         Comparison* comparison) {
  for (const auto* side : {&base, &current})
    if (side->scenarios.empty())
      throw InputError(fmt::format("the {} results hold no scenario: there is nothing to compare",
                                          side == &base ? "base" : "new"));
  const Comparison c = compare_results(base, current, policies_with(args.thresholds), args.options);
  if (!c.same_machine) std::cerr << "aiway-stress: WARNING: " << c.machine_note << "\n";
  if (args.quiet && args.format == "console") {
    std::ostringstream text;
    print_comparison(c, args.format, false, text);
    std::string all = text.str();
    while (!all.empty() && all.back() == '\n') all.pop_back();
    out << all.substr(all.rfind('\n') + 1) << "\n";  // the last line: counts and the headline
  } else {
    print_comparison(c, args.format, use_color() && &out == &std::cout, out);
  }
  if (comparison) *comparison = c;
  if (c.regressed()) return kFailed;
  if (args.fail_on_inconclusive && c.inconclusive()) return kInconclusive;
  return kPass;
}

}  // namespace aiway::app
