// One repetition against a conductor target (target.kind = "aiway"): the
// harness starts its upstream (an Ollama-style server) and, unless told to
// connect to a running one, the conductor; connects its surfaces, measures
// the idle conductor, asks, reads every token at every surface, and keeps
// the books as for the model pipeline: every token the upstream sent is
// delivered, or missing with its sequence number known.
#pragma once

#include <string>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "targets/target.hpp"

namespace aiway {

class ConductorTarget final : public Target {
 public:
  // A started conductor's target.socket must be free to take: not in a
  // missing folder, not a folder or a file, no live process listening on it.
  void check_before_run(const Scenario& s, double unix_now) const override;
  RepetitionOutcome run_repetition(const Scenario& s, const RepetitionContext& context) const override;
  void print_results(const ScenarioResult& r, std::ostream& out) const override;
};

// The command as it will run: {socket} and {self} substituted, --legacy
// appended for the reference conductor.
std::vector<std::string> target_command(const Scenario& s, const std::string& socket);

}  // namespace aiway
