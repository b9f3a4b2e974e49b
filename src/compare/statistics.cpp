#include "compare/statistics.hpp"

#include <algorithm>
#include <unordered_set>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>

namespace aiway {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::pair<double, double> bootstrap_median_interval(const std::vector<double>& values, int resamples, std::uint64_t seed) {
  if (values.empty()) return {0, 0};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, values.size() - 1);
  std::vector<double> sample(values.size()), medians;
  medians.reserve(std::size_t(resamples));
  for (int i = 0; i < resamples; ++i) {
    for (auto& x : sample) x = values[pick(rng)];
    medians.push_back(median(sample));
  }
  std::sort(medians.begin(), medians.end());
  auto at = [&](double q) { return medians[std::size_t(std::floor(q * double(medians.size() - 1)))]; };
  return {at(0.025), at(0.975)};
}

MetricSummary summarize(const std::vector<double>& values) {
  MetricSummary s;
  s.n = values.size();
  if (values.empty()) return s;
  s.median = median(values);
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  if (values.size() > 1 && s.mean != 0) {
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.cv = std::sqrt(squares / double(values.size() - 1)) / std::fabs(s.mean);  // sample stddev / mean
  }
  const double m = std::fabs(s.median);
  s.unstable = s.n > 1 && (s.cv >= 0.10 || (m > 0 && (std::fabs(s.min - s.median) >= 0.5 * m || std::fabs(s.max - s.median) >= 0.5 * m)));
  return s;
}

std::vector<double> metric_values(const std::vector<Repetition>& repetitions, const std::string& metric) {
  std::vector<double> values;
  for (const auto& r : repetitions)
    if (const auto v = r.metrics.get(metric)) values.push_back(*v);
  return values;
}

std::vector<std::string> unstable_headline_metrics(const ScenarioResult& result) {
  static const char* const kHeadline[] = {"throughput_tps", "latency_p99_us", "cpu_share", "rss_growth_bytes"};
  std::vector<std::string> out;
  for (const char* name : kHeadline)
    if (const MetricSummary* s = find_summary(result, name); s && s->unstable) out.push_back(name);
  return out;
}

std::vector<std::pair<std::string, MetricSummary>> summarize(const std::vector<Repetition>& repetitions) {
  std::vector<std::pair<std::string, MetricSummary>> out;
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;  // linear in the names, however many a file holds
  for (const auto& r : repetitions)
    for (const auto& [name, value] : r.metrics.values())
      if (seen.insert(name).second) names.push_back(name);
  for (const auto& name : names) out.emplace_back(name, summarize(metric_values(repetitions, name)));
  return out;
}

const MetricSummary* find_summary(const ScenarioResult& result, const std::string& metric) {
  for (const auto& [name, summary] : result.summary)
    if (name == metric) return &summary;
  return nullptr;
}

double summary_median(const ScenarioResult& result, const std::string& metric) {
  const MetricSummary* s = find_summary(result, metric);
  return s ? s->median : 0;
}

std::string describe_interrupted(const RunResults& results) {
  if (!results.interrupted) return "";
  std::size_t done = 0;
  for (const auto& s : results.scenarios) done += s.repetitions.size();
  if (results.planned_repetitions == 0) return fmt::format("interrupted after {} repetitions", done);
  return fmt::format("interrupted after {} of {} repetitions", done, results.planned_repetitions);
}

std::string plain_number(double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  const double a = std::fabs(v);
  const char* suffixes[] = {"", "k", "M", "G", "T", "P"};
  int k = 0;
  double shown = v;
  while (std::fabs(shown) >= 1000 && k < 5) {
    shown /= 1000;
    ++k;
  }
  if (k > 0 || a >= 1 || a == 0) {
    const int digits = std::fabs(shown) >= 100 ? 0 : std::fabs(shown) >= 10 ? 1 : 2;
    std::string text = fmt::format("{:.{}f}", shown, digits);
    if (text.find('.') != std::string::npos) {  // 1.50 -> 1.5, 2.00 -> 2
      while (text.back() == '0') text.pop_back();
      if (text.back() == '.') text.pop_back();
    }
    return text + suffixes[k];
  }
  // Below 1: three significant digits in fixed notation.
  const int digits = std::min(15, 2 - int(std::floor(std::log10(a))));
  std::string text = fmt::format("{:.{}f}", v, digits);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string plain_p(double p) { return p < 0.0001 ? "< 0.0001" : plain_number(p); }

}  // namespace aiway
