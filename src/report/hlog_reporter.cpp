// HdrHistogram's interval log (.hlog): one interval per repetition, tagged
// with its scenario, each the repetition's whole end-to-end latency histogram,
// for HdrHistogram's own tools (HistogramLogAnalyzer, hdr-histogram-js, the
// Java and C log readers).
#include <ctime>

#include "measure/histogram_encoding.hpp"
#include "report/reporter.hpp"

namespace aiway {
namespace {

// The run's start (ISO 8601 UTC) as seconds since the epoch; 0 when unreadable.
double epoch_seconds(const std::string& iso) {
  std::tm tm{};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
  return double(timegm(&tm));
}

class HlogReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    std::vector<LogInterval> intervals;
    double at = 0;  // repetitions follow each other; the log places them end to end
    for (const auto& r : results.scenarios)
      for (const auto& rep : r.repetitions) {
        const double wall = rep.metrics.get("wall_s").value_or(0);
        if (!rep.latency_histogram.empty())
          intervals.push_back({r.scenario.name, at, wall, rep.latency_histogram,
                               rep.metrics.get("latency_max_us").value_or(0) / 1e3});
        at += wall;
      }
    out << histogram_log(intervals, epoch_seconds(results.started_at));
  }
};

}  // namespace

std::unique_ptr<Reporter> make_hlog_reporter() { return std::make_unique<HlogReporter>(); }

}  // namespace aiway
