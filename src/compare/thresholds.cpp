#include "compare/thresholds.hpp"

#include <algorithm>
#include <optional>

#include "compare/statistics.hpp"

namespace aiway {
namespace {

struct Rule {
  std::optional<double> Expectations::*limit;
  const char* metric;
  bool at_least;  // ">=" (else "<=")
  double scale;   // expect unit -> metric unit
  bool worst;     // judge the worst repetition instead of the median
  bool integrity; // replaced by detected_equals_planted
};

constexpr Rule kRules[] = {
    {&Expectations::min_throughput_tps, "throughput_tps", true, 1, false, false},
    {&Expectations::max_latency_p99_ms, "latency_p99_us", false, 1e3, false, false},
    {&Expectations::max_rss_growth_mib, "rss_growth_bytes", false, 1024.0 * 1024.0, false, false},
    {&Expectations::max_cpu_share, "cpu_share", false, 1, false, false},
    {&Expectations::max_quit_latency_ms, "quit_latency_us", false, 1e3, false, false},
    {&Expectations::max_loss_ratio, "loss_ratio", false, 1, true, false},
    {&Expectations::max_lost_unaccounted, "lost_unaccounted", false, 1, true, true},
    {&Expectations::max_duplicated, "duplicated", false, 1, true, true},
    {&Expectations::max_reordered, "reordered", false, 1, true, true},
    {&Expectations::max_corrupted, "corrupted", false, 1, true, true},
    {&Expectations::max_stream_end_lost, "stream_end_lost", false, 1, true, false},
    {&Expectations::max_state_ready_lost, "state_ready_lost", false, 1, true, false},
    {&Expectations::max_streams_abandoned, "streams_abandoned", false, 1, true, false},
    {&Expectations::max_protocol_errors, "protocol_errors", false, 1, true, false},
    {&Expectations::max_foreign_acks, "foreign_acks", false, 1, true, false},
    {&Expectations::max_events_unacked, "events_unacked", false, 1, true, false},
    {&Expectations::max_target_cpu_share, "target_cpu_share", false, 1, false, false},
    {&Expectations::max_target_idle_cpu_share, "target_idle_cpu_share", false, 1, false, false},
    {&Expectations::max_target_idle_runnable_share, "target_idle_runnable_share", false, 1, false, false},
    {&Expectations::min_goodput_ratio, "goodput_ratio", true, 1, false, false},
    {&Expectations::max_streams_failed, "streams_failed", false, 1, true, false},
    {&Expectations::min_coalescing_ratio, "coalescing_ratio", true, 1, false, false},
};

// detected == planted in every repetition; reports the first repetition that differs.
ThresholdResult detected_equals(const std::vector<Repetition>& repetitions, const char* detected, const char* planted) {
  ThresholdResult r;
  r.metric = detected;
  r.op = "==";
  r.aggregate = std::string("every repetition = ") + planted;
  r.passed = !repetitions.empty();
  for (const auto& rep : repetitions) {
    const auto d = rep.metrics.get(detected);
    const auto p = rep.metrics.get(planted);
    if (!r.value || !(d && p && *d == *p)) {
      r.value = d;
      r.limit = p.value_or(0);
    }
    if (!(d && p && *d == *p)) {
      r.passed = false;
      break;
    }
  }
  return r;
}

}  // namespace

std::vector<ThresholdResult> evaluate_thresholds(const Expectations& expect, const std::vector<Repetition>& repetitions) {
  std::vector<ThresholdResult> results;
  for (const Rule& rule : kRules) {
    const auto& limit = expect.*rule.limit;
    if (!limit || (rule.integrity && expect.detected_equals_planted)) continue;
    ThresholdResult r;
    r.metric = rule.metric;
    r.op = rule.at_least ? ">=" : "<=";
    r.limit = *limit * rule.scale;
    r.aggregate = rule.worst ? "worst" : "median";
    const std::vector<double> values = metric_values(repetitions, rule.metric);
    if (!values.empty()) {
      if (!rule.worst) r.value = median(values);
      else if (rule.at_least) r.value = *std::min_element(values.begin(), values.end());
      else r.value = *std::max_element(values.begin(), values.end());
    }
    // A limit on a metric nothing measured fails: silence is not a pass.
    r.passed = r.value && (rule.at_least ? *r.value >= r.limit : *r.value <= r.limit);
    results.push_back(std::move(r));
  }
  if (expect.detected_equals_planted) {
    results.push_back(detected_equals(repetitions, "lost_unaccounted", "planted_drops"));
    results.push_back(detected_equals(repetitions, "duplicated", "planted_duplicates"));
    results.push_back(detected_equals(repetitions, "reordered", "planted_reorders"));
    results.push_back(detected_equals(repetitions, "corrupted", "planted_corruptions"));
  }
  return results;
}

}  // namespace aiway
