// A scenario's stages, checked against the registry and built.
#pragma once

#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"

#include <string>
#include <vector>

namespace aiway {

// Checks backend.impl, conductor.impl and surface.impl against the registry
// and each stage's [ROLE.params] against what it declares (names, types,
// ranges), fills in the defaults, and, for a trace backend, reads the trace
// and takes backend.streams and backend.messages from it; makes the paths of
// files a scenario names (the trace, an HTTP target's config template)
// absolute, relative to the scenario file. Throws
// ScenarioError naming where the bad value was set (file:line:column, --set).
void resolve_stages(Scenario& scenario);

// The scenario's stages that were compiled without optimisation, as
// "ROLE NAME" (empty when all were optimised).
std::vector<std::string> unoptimized_stages(const Scenario& scenario);

// The stages of one repetition, from a scenario resolve_stages() accepts.
StageSet make_stages(const Scenario& scenario);

}  // namespace aiway
