// One reporter per output format, behind one interface (as Google Benchmark's).
#pragma once

#include <memory>
#include <ostream>
#include <string>

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
};

std::unique_ptr<Reporter> make_console_reporter(ConsoleStyle style);
std::unique_ptr<Reporter> make_json_reporter();      // the results file (shared/results-schema.md)
std::unique_ptr<Reporter> make_markdown_reporter();  // a summary table for CI job pages and pull requests
std::unique_ptr<Reporter> make_junit_reporter();     // one testcase per scenario run and per threshold
std::unique_ptr<Reporter> make_gbench_reporter();    // Google Benchmark JSON, for its compare.py
// By name: json, markdown, junit, gbench (console is print_scenario, streamed per scenario).
std::unique_ptr<Reporter> make_file_reporter(const std::string& format);

// One scenario's block of the console report (the run report prints one per scenario).
void print_scenario(const ScenarioResult& result, const ConsoleStyle& style, std::ostream& out);

}  // namespace aiway
