// The aiway-stress binary: the command line with the built-in stages.
#include "aiway/stage_registry.hpp"

AIWAY_STRESS_MAIN()
