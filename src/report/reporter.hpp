// One reporter per output format, behind one interface (as Google Benchmark's).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "aiway/metrics.hpp"
#include "aiway/results.hpp"

namespace aiway {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void report(const RunResults& results, std::ostream& out) const = 0;
};

struct ConsoleStyle {
  bool color = false;
  bool spectrum = false;  // print the latency percentile spectrum too
  bool verbose = false;   // and each repetition's headline figures
};

std::unique_ptr<Reporter> make_json_reporter();      // the results file (schema aiway-stress/results/v1)
std::unique_ptr<Reporter> make_markdown_reporter();  // a summary table for CI job pages and pull requests
std::unique_ptr<Reporter> make_junit_reporter();     // one testcase per scenario run and per threshold
std::unique_ptr<Reporter> make_gbench_reporter();    // Google Benchmark JSON, for its compare.py
std::unique_ptr<Reporter> make_bmf_reporter();       // Bencher Metric Format, every tracked metric with its interval
std::unique_ptr<Reporter> make_openmetrics_reporter();  // OpenMetrics text: gauges and a latency histogram
std::unique_ptr<Reporter> make_hlog_reporter();  // HdrHistogram interval log: each repetition's latency histogram
// The metrics BMF and OpenMetrics carry: every exported one and every
// compared one (so every metric a scenario may gate on), under the table's
// exported name or one derived from the metric's name in base units.
bool tracked_metric(const MetricDescriptor& metric);
struct TrackerName {
  std::string name;    // aiway_ttft_p99_seconds
  double scale = 1;    // the metric's value times this is in the name's unit
};
TrackerName tracker_name(const MetricDescriptor& metric);
// By name: json, markdown, junit, gbench, bmf, openmetrics, hlog (console is print_scenario, streamed per scenario).
std::unique_ptr<Reporter> make_file_reporter(const std::string& format);

// One scenario's block of the console report (the run report prints one per scenario).
void print_scenario(const ScenarioResult& result, const ConsoleStyle& style, std::ostream& out);
// The end of a run of several scenarios: one row per scenario (result, the
// headline figures, disturbed and unstable marks), then one line with the
// run's outcome ("2 of 10 scenarios FAILED: a, b" / "All 10 scenarios passed.").
void print_run_summary(const RunResults& results, const ConsoleStyle& style, std::ostream& out);

}  // namespace aiway
