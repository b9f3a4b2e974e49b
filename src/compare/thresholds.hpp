// Absolute pass/fail limits of a scenario's [expect] section.
#pragma once

#include <vector>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"

namespace aiway {

// Performance limits are judged on the median over repetitions; integrity
// limits (loss, duplicates…) on the worst repetition, since one bad run is a bug.
std::vector<ThresholdResult> evaluate_thresholds(const Expectations& expect, const std::vector<Repetition>& repetitions);

}  // namespace aiway
