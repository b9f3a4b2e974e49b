// One repetition against an HTTP target (target.kind = "http"): the harness
// starts its upstream (OpenAI SSE and Ollama NDJSON on one port) and, when
// the scenario names one, the proxy under test with a config written from
// its template; then its clients open backend.streams streams to target.url
// on the scenario's arrival model and read every token. The books are exact
// per stream: each token is delivered or missing by its number, and each
// stream's end is known with its reason.
#pragma once

#include "targets/target.hpp"

namespace aiway {

class HttpTarget final : public Target {
 public:
  // A started proxy's fixed port in target.url must be free (else the run
  // would measure whatever listens there); a common start time
  // (target.start_at) must come within the repetition's timeout_s.
  void check_before_run(const Scenario& s, double unix_now) const override;
  // context.index places the repetition's start with target.start_at.
  RepetitionOutcome run_repetition(const Scenario& s, const RepetitionContext& context) const override;
  void print_results(const ScenarioResult& r, std::ostream& out) const override;
};

}  // namespace aiway
