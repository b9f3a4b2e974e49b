// Formats for the tools teams track benchmarks with: Bencher Metric Format and
// the OpenMetrics / Prometheus text exposition.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "compare/statistics.hpp"
#include "report/reporter.hpp"
#include "aiway/metrics.hpp"

namespace aiway {

bool tracked_metric(const MetricDescriptor& m) { return !m.exported.empty() || m.threshold > 0; }

TrackerName tracker_name(const MetricDescriptor& m) {
  if (!m.exported.empty()) return {std::string(m.exported), m.export_scale};
  // Derived from the name, in base units as OpenMetrics asks: every compared
  // (so every possibly gating) metric reaches the trackers.
  std::string_view base = m.name;
  if (base.ends_with("_us")) return {fmt::format("aiway_{}_seconds", base.substr(0, base.size() - 3)), 1e-6};
  if (base.ends_with("_s")) return {fmt::format("aiway_{}_seconds", base.substr(0, base.size() - 2)), 1};
  if (base.ends_with("_tps")) return {fmt::format("aiway_{}_tokens_per_second", base.substr(0, base.size() - 4)), 1};
  return {fmt::format("aiway_{}", base), 1};
}

namespace {

// Bencher Metric Format: benchmark -> measure -> value, with the bootstrap 95 %
// interval of the median as lower_value / upper_value, so a Bencher threshold
// sees the spread of every tracked metric, not one time value per benchmark.
class BmfReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    nlohmann::ordered_json root = nlohmann::ordered_json::object();
    for (const auto& r : results.scenarios) {
      nlohmann::ordered_json measures = nlohmann::ordered_json::object();
      for (const auto& t : kMetrics) {
        if (!tracked_metric(t)) continue;
        const auto values = metric_values(r.repetitions, std::string(t.name));
        if (values.empty()) continue;
        const auto [low, high] = bootstrap_median_interval(values);
        measures[std::string(t.name)] = {{"value", median(values)}, {"lower_value", low}, {"upper_value", high}};
      }
      root["aiway/" + r.scenario.name] = std::move(measures);
    }
    out << root.dump(2) << "\n";
  }
};

// Label values: backslash, double quote and line feed escaped, as the text
// format requires.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Latency bucket bounds, microseconds (exported in seconds): 1-2-5 steps from 10 us to 10 s.
constexpr double kBucketsUs[] = {10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7};

// OpenMetrics text exposition: a gauge per tracked metric and scenario (the
// median of its repetitions) and the end-to-end latency of all repetitions as
// one histogram, labelled with scenario, machine fingerprint and git revision;
// for node_exporter's textfile collector or a Pushgateway.
class OpenMetricsReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    const std::string common = fmt::format("machine=\"{}\",git=\"{}\"", label(results.machine.fingerprint), label(results.tool.git));
    for (const auto& t : kMetrics) {
      if (!tracked_metric(t)) continue;
      const TrackerName exported = tracker_name(t);
      std::string samples;
      for (const auto& r : results.scenarios) {
        const auto values = metric_values(r.repetitions, std::string(t.name));
        if (values.empty()) continue;
        samples += fmt::format("{}{{scenario=\"{}\",{}}} {}\n", exported.name, label(r.scenario.name), common,
                               number(median(values) * exported.scale));
      }
      if (samples.empty()) continue;
      out << fmt::format("# HELP {} {} (median of the repetitions).\n# TYPE {} gauge\n{}", exported.name, t.description,
                         exported.name, samples);
    }
    std::string histogram;
    for (const auto& r : results.scenarios) {
      // The spectra are cumulative: the count at or below a bound is the total
      // count of the last spectrum line whose value is within it.
      std::vector<double> counts(std::size(kBucketsUs), 0);
      double total = 0;
      for (const auto& rep : r.repetitions) {
        if (rep.latency_spectrum.empty()) continue;
        total += double(rep.latency_spectrum.back().total_count);
        for (std::size_t b = 0; b < std::size(kBucketsUs); ++b) {
          std::int64_t within = 0;
          for (const auto& line : rep.latency_spectrum)
            if (line.value_us <= kBucketsUs[b]) within = line.total_count;
          counts[b] += double(within);
        }
      }
      if (total == 0) continue;
      const std::string labels = fmt::format("scenario=\"{}\",{}", label(r.scenario.name), common);
      for (std::size_t b = 0; b < std::size(kBucketsUs); ++b)
        histogram += fmt::format("aiway_latency_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, number(kBucketsUs[b] / 1e6),
                                 number(counts[b]));
      histogram += fmt::format("aiway_latency_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, number(total));
      histogram += fmt::format("aiway_latency_seconds_count{{{}}} {}\n", labels, number(total));
    }
    if (!histogram.empty())
      out << "# HELP aiway_latency_seconds End-to-end latency of every token from its intended send time "
             "(all repetitions).\n# TYPE aiway_latency_seconds histogram\n"
          << histogram;
    out << "# EOF\n";
  }
};

}  // namespace

std::unique_ptr<Reporter> make_bmf_reporter() { return std::make_unique<BmfReporter>(); }
std::unique_ptr<Reporter> make_openmetrics_reporter() { return std::make_unique<OpenMetricsReporter>(); }

}  // namespace aiway
