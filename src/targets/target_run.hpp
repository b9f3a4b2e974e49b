// One repetition against a conductor target (target.kind = "aiway"): the
// harness starts its upstream (an Ollama-style server) and, unless told to
// connect to a running one, the conductor; connects its surfaces, measures
// the idle conductor, asks, reads every token at every surface, and keeps
// the books as for the model pipeline: every token the upstream sent is
// delivered, or missing with its sequence number known.
#pragma once

#include <atomic>
#include <string>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"

namespace aiway {

struct TargetOutcome {
  Repetition repetition;
  std::string failure;  // the target could not be started, crashed, or the run timed out
  bool interrupted = false;
};

TargetOutcome run_target_repetition(const Scenario& s, const std::atomic<bool>* interrupt);

// The command as it will run: {socket} and {self} substituted, --legacy
// appended for the reference conductor.
std::vector<std::string> target_command(const Scenario& s, const std::string& socket);

}  // namespace aiway
