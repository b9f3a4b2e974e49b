#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "report/console_text.hpp"
#include "report/reporter.hpp"
#include "targets/target.hpp"
#include "aiway/scenario_file.hpp"

namespace aiway {
namespace {

std::string threshold_value(const ThresholdResult& t) {
  if (!t.value) return "not measured";
  const double v = *t.value;
  if (t.metric == "rss_growth_bytes") return mib(v);
  if (t.metric.ends_with("_us")) return duration_us(v);
  if (t.metric.ends_with("_share") || t.metric.ends_with("_ratio")) return fmt::format("{:.2f} %", v * 100);
  return grouped(v);
}

std::string threshold_limit(const ThresholdResult& t) {
  ThresholdResult limit = t;
  limit.value = t.limit;
  return threshold_value(limit);
}

// The value as printed beside its limit: never rounded onto the limit when it
// is not the limit (a failing 0.844 must not read "1" against ">= 1").
std::string threshold_value_beside_limit(const ThresholdResult& t) {
  std::string value = threshold_value(t);
  if (t.value && *t.value != t.limit && value == threshold_limit(t)) value = fmt::format("{:.9g}", *t.value);
  return value;
}


}  // namespace

void print_scenario(const ScenarioResult& r, const ConsoleStyle& style, std::ostream& out) {
  const auto paint = [&](const std::string& text, const char* code) {
    return style.color ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : text;
  };
  const Scenario& s = r.scenario;
  out << fmt::format("\n=== Stress Test Results: {} ===\n", s.name);
  if (!s.description.empty()) out << fmt::format("  {}\n", s.description);
  target_of(s).print_results(r, out);
  if (!r.repetitions.empty()) {
    if (style.verbose) {
      out << "  Per repetition:\n";
      for (std::size_t i = 0; i < r.repetitions.size(); ++i) {
        const Metrics& m = r.repetitions[i].metrics;
        const auto value = [&](const char* name, auto&& format) {
          const auto v = m.get(name);
          return v ? format(*v) : std::string("-");
        };
        out << fmt::format("    {:>3}  throughput {}  p99 {}  CPU {}  RSS growth {}  other work {}\n", i + 1,
                           value("throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                           value("latency_p99_us", duration_us),
                           value("cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                           value("rss_growth_bytes", mib),
                           value("foreign_cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }));
      }
    }
    if (style.spectrum) {
      for (std::size_t i = 0; i < r.repetitions.size(); ++i) {
        out << fmt::format("  Latency spectrum, repetition {} (end-to-end, corrected; microseconds):\n", i + 1);
        out << fmt::format("{:>14} {:>16} {:>12} {:>16}\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
        for (const auto& line : r.repetitions[i].latency_spectrum) {
          const std::string inverse = line.percentile < 1.0 ? fmt::format("{:.2f}", 1.0 / (1.0 - line.percentile)) : "inf";
          out << fmt::format("{:14.3f} {:16.12f} {:12} {:>16}\n", line.value_us, line.percentile, line.total_count, inverse);
        }
      }
    }
  }
  for (const auto& name : unstable_headline_metrics(r)) {
    const MetricSummary* s = find_summary(r, name);
    out << paint(fmt::format("  WARNING: {} is unstable (CV {:.1f} %, min {}, median {}, max {}): "
                             "more repetitions or a quieter machine\n", name, s->cv * 100, plain_number(s->min),
                             plain_number(s->median), plain_number(s->max)), "33");
  }
  if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
    out << paint(fmt::format("  WARNING: {}: a comparison will call its changes inconclusive\n", d), "33");
  if (!r.failure.empty()) out << paint(fmt::format("  RUN FAILED: {}\n", r.failure), "1;31");
  if (!r.thresholds.empty()) out << "Thresholds:\n";
  for (const auto& t : r.thresholds) {
    out << fmt::format("  {}  {} {} {} ({} {})\n", t.passed ? paint("PASS", "32") : paint("FAIL", "1;31"), t.metric, t.op,
                       threshold_limit(t), t.aggregate, threshold_value_beside_limit(t));
  }
  out << (r.passed ? paint("Passed.", "32") : paint("FAILED.", "1;31")) << "\n";
}

void print_run_summary(const RunResults& results, const ConsoleStyle& style, std::ostream& out) {
  auto paint = [&](const std::string& text, bool ok) {
    return style.color ? fmt::format("\x1b[{}m{}\x1b[0m", ok ? "32" : "1;31", text) : text;
  };
  std::size_t width = 8;
  for (const auto& r : results.scenarios) width = std::max(width, r.scenario.name.size());
  // An unpaced scenario's throughput beside one raw hop of tokens of the same
  // size on this machine: the median of its repetitions' own ratios when each
  // measured a hop right before it (measure.raw_hop), else against the hop the
  // run's calibration measured once (the seed's 10- and 100-byte tokens only).
  // A paced one's throughput is its pace, not a ratio.
  const std::optional<Calibration>& calibration = results.machine.calibration;
  const double raw_hop = calibration ? calibration->raw_hop_short_tokens_per_s : 0;
  bool per_repetition = false;
  for (const auto& r : results.scenarios) per_repetition |= find_summary(r, "raw_hop_ratio") != nullptr;
  const auto vs_hop = [&](const ScenarioResult& r) {
    if (raw_hop <= 0 && !per_repetition) return std::string();
    if (const MetricSummary* own = find_summary(r, "raw_hop_ratio")) return fmt::format("  {:>6.2f}x", own->median);
    const std::uint32_t size = r.scenario.backend.size;
    const double hop = raw_hop <= 0 || !r.scenario.unpaced_model() ? 0
                       : size == 10                                ? calibration->raw_hop_short_tokens_per_s
                       : size == 100                               ? calibration->raw_hop_medium_tokens_per_s
                                                                   : 0;
    return hop > 0 ? fmt::format("  {:>6.2f}x{}", summary_median(r, "throughput_tps") / hop, per_repetition ? "*" : "")
                   : fmt::format("  {:>7}", "-");
  };
  out << fmt::format("\n{:<{}}  {:<6}  {:>10}{}  {:>9}  {:>6}  {:>10}  {}\n", "scenario", width, "result", "tokens/s",
                     raw_hop > 0 || per_repetition ? "  raw hop" : "", "p99", "CPU", "RSS growth", "marks");
  std::vector<std::string> failed;
  for (const auto& r : results.scenarios) {
    std::vector<std::string> marks;
    if (!r.failure.empty()) marks.push_back("run failed");
    const Disturbance d = disturbance_of(r);
    if (d.disturbed > 0) marks.push_back(fmt::format("disturbed {}/{}", d.disturbed, d.repetitions));
    if (d.reruns > 0) marks.push_back(fmt::format("{} re-run{}", d.reruns, d.reruns == 1 ? "" : "s"));
    for (const auto& name : unstable_headline_metrics(r)) marks.push_back("unstable " + name);
    if (!r.passed) failed.push_back(r.scenario.name);
    out << fmt::format("{:<{}}  {:<6}  {:>10}{}  {:>9}  {:>5.1f}%  {:>10}  {}\n", r.scenario.name, width,
                       paint(r.passed ? "pass" : "FAIL", r.passed), plain_number(summary_median(r, "throughput_tps")),
                       vs_hop(r),
                       fmt::format("{:.2f} ms", summary_median(r, "latency_p99_us") / 1e3),
                       summary_median(r, "cpu_share") * 100,
                       fmt::format("{:.1f} MiB", summary_median(r, "rss_growth_bytes") / (1024.0 * 1024.0)),
                       fmt::join(marks, ", "));
  }
  if (per_repetition)
    out << "raw hop: throughput / one raw moodycamel hop of the same tokens measured right before each repetition, "
           "median of the repetitions' ratios\n";
  if (raw_hop > 0)
    out << fmt::format("{}: throughput / one raw moodycamel hop of tokens of the same size, measured once by this "
                       "run's calibration ({:.2f} M tokens/s of 10 bytes, {:.2f} M of 100)\n",
                       per_repetition ? "raw hop marked *" : "raw hop", raw_hop / 1e6,
                       calibration->raw_hop_medium_tokens_per_s / 1e6);
  // A hop timed while other work took the CPU is slow by an unknown amount, and every ratio against it is high.
  if (raw_hop > 0 && calibration_disturbed(*calibration))
    out << fmt::format("WARNING: the calibration's raw hop was timed while other work used {:.0f} % of the CPU: the "
                       "raw hop ratios against it are too high by an unknown amount\n",
                       *calibration->foreign_cpu_share * 100);
  const std::size_t n = results.scenarios.size();
  std::string outcome;
  if (results.interrupted) outcome = fmt::format("Interrupted: {}.", describe_interrupted(results));
  else if (failed.empty()) outcome = fmt::format("All {} scenarios passed.", n);
  else outcome = fmt::format("{} of {} scenarios FAILED: {}.", failed.size(), n, fmt::join(failed, ", "));
  out << "\n" << paint(outcome, failed.empty() && !results.interrupted) << "\n";
}

}  // namespace aiway
