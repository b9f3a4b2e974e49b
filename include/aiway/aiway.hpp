// Everything a program that puts its own stages under test needs: the stage
// interfaces and their registry (AIWAY_CONDUCTOR, AIWAY_SURFACE,
// AIWAY_BACKEND, AIWAY_STRESS_MAIN), the scenario and results structs, the
// latency histogram and the token.
#pragma once

#include "aiway/latency_histogram.hpp"
#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "aiway/stage.hpp"
#include "aiway/stage_registry.hpp"
#include "aiway/token.hpp"
