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
std::unique_ptr<Reporter> make_json_reporter();

// One scenario's block of the console report (the run report prints one per scenario).
void print_scenario(const ScenarioResult& result, const ConsoleStyle& style, std::ostream& out);

}  // namespace aiway
