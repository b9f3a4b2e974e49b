// The model target (target.kind = "model"): ai-way's pipeline modelled in
// this process, three stages on their own threads joined by the scenario's
// channels; the drivers keep the books, the watchdog ends a stalled or
// overdue repetition, and the stages' own counters join the metrics.
#pragma once

#include "targets/target.hpp"

namespace aiway {

class ModelTarget final : public Target {
 public:
  RepetitionOutcome run_repetition(const Scenario& s, const RepetitionContext& context) const override;
  void print_results(const ScenarioResult& r, std::ostream& out) const override;
  std::vector<std::string> unoptimized_stages(const Scenario& s) const override;
  bool stages_in_this_process() const override { return true; }
};

}  // namespace aiway
