// `aiway-stress report RESULTS --html OUT`: one self-contained HTML page (no
// scripts, fonts or network) with inline SVG charts per scenario (latency
// percentile spectrum, throughput per repetition against the baseline's band,
// RSS over time, CPU per stage), sweep curves and the verdict table.
#pragma once

#include <string>

#include "aiway/results.hpp"
#include "compare/verdict.hpp"

namespace aiway {

// The pages' one style sheet (this report's and compare-machines').
std::string_view report_style();

// baseline and comparison may be null (no baseline given).
std::string html_report(const RunResults& results, const RunResults* baseline, const Comparison* comparison);

}  // namespace aiway
