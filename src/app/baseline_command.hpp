// baseline update: a results file checked and stored as a baseline, or
// several runs pooled into one; run --save-baseline stores its own.
#pragma once

#include <string>

#include "aiway/results.hpp"

namespace aiway::app {

// Stores results as a baseline, once they are one: an interrupted or empty run
// and a scenario without repetitions or named twice are refused
// (ResultsError); scenarios with disturbed repetitions are named.
void write_baseline(const RunResults& r, const std::string& text, const std::string& source, const std::string& path);
// run --save-baseline: a bare name is a file of ./baselines/.
std::string baseline_path_for(const std::string& name_or_file);

}  // namespace aiway::app
