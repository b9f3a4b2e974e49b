#include "compare/history_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compare/disturbance.hpp"
#include "compare/mann_whitney.hpp"
#include "compare/series.hpp"
#include "compare/statistics.hpp"

namespace aiway {

bool HistoryCheck::regressed() const {
  return std::any_of(verdicts.begin(), verdicts.end(), [](const auto& v) { return v.verdict == Verdict::regressed; });
}

bool HistoryCheck::inconclusive() const {
  return std::any_of(verdicts.begin(), verdicts.end(), [](const auto& v) { return v.verdict == Verdict::inconclusive; });
}

std::string HistoryCheck::headline() const {
  std::size_t n[4] = {0, 0, 0, 0};
  for (const auto& v : verdicts) ++n[int(v.verdict)];
  // A history too short to judge must say so, not read as a pass: a nightly
  // job whose database does not survive the night never has a history.
  std::size_t fewest = kMinHistoryRuns;
  for (const auto& v : verdicts) fewest = std::min(fewest, v.runs);
  const std::string too_short =
      fewest < kMinHistoryRuns
          ? fmt::format(" Too short a history to judge: {} earlier run{} of this machine, {} needed (keep the "
                        "database between runs).", fewest, fewest == 1 ? "" : "s", kMinHistoryRuns)
          : "";
  return fmt::format("history: {} regressed, {} improved, {} inconclusive, {} unchanged of {} gating metrics. {}{}",
                     n[int(Verdict::regressed)], n[int(Verdict::improved)], n[int(Verdict::inconclusive)],
                     n[int(Verdict::unchanged)], verdicts.size(), regressed() ? "Regression." : "No regression.",
                     too_short);
}

namespace {

// As compare does (compare/verdict.cpp): a verdict of a run that other work
// disturbed stands only for a rate whose change holds with its disturbed
// repetitions credited what the load can explain (p Bonferroni-adjusted over
// the gating metrics), or for a rate's improvement (other work only slows);
// every other change becomes inconclusive.
void judge_disturbed(HistoryVerdict& v, const MetricPolicy& policy, std::size_t family, double alpha) {
  if (v.verdict != Verdict::regressed && v.verdict != Verdict::improved) return;
  const bool rate = policy.scales_with_machine && policy.higher_is_better;
  if (rate && v.verdict == Verdict::improved) return;
  const bool holds = rate && -v.credited_change > policy.threshold &&
                     std::min(1.0, v.credited_p * double(family)) < alpha;
  if (holds) {
    v.reason = fmt::format("{}: more than other work can explain (still {:+.1f} % with each disturbed repetition "
                           "raised by {:g} / (1 - its foreign share))", v.reason, v.credited_change * 100,
                           kSchedulingMargin);
    return;
  }
  v.verdict = Verdict::inconclusive;
  v.reason = fmt::format("{:+.1f} %, but {}", v.change * 100, v.disturbed);
}

}  // namespace

HistoryCheck check_against_history(const RunResults& current, const PriorMedians& prior,
                                   const std::vector<MetricPolicy>& policies, double alpha) {
  HistoryCheck out;
  std::vector<MetricPolicy> judged_policies;
  for (const auto& s : current.scenarios) {
    const auto scenario_policies = policies_for(policies, s.scenario);
    for (const auto& metric : gating_metrics(s.scenario)) {
      const auto policy = std::find_if(scenario_policies.begin(), scenario_policies.end(),
                                       [&](const auto& p) { return p.metric == metric; });
      const auto values = metric_values(s.repetitions, metric);
      if (policy == scenario_policies.end() || values.empty()) continue;
      HistoryVerdict v;
      v.scenario = s.scenario.name;
      v.metric = metric;
      v.new_median = median(values);
      std::vector<double> history = prior(s.scenario.name, metric);
      v.runs = history.size();
      // Log values when every figure is positive; raw ones otherwise (a loss of 0).
      const bool logs = v.new_median > 0 && std::all_of(history.begin(), history.end(), [](double x) { return x > 0; });
      std::vector<double> h = history;
      if (logs)
        for (double& x : h) x = std::log(x);
      v.disturbed = describe_disturbed(disturbance_of(s));
      if (policy->counted) {
        // Counts are judged as compare judges them, against the earlier runs' medians (compare/verdict.hpp).
        v.typical = history.empty() ? 0 : median(history);
        v.change = v.typical != 0 ? v.new_median / v.typical - 1 : 0;
        v.counts = judge_counts(*policy, history, values, fmt::format("last {} runs", history.size()));
      } else if (history.size() >= 2) {
        double mean = 0;
        for (double x : h) mean += x;
        mean /= double(h.size());
        v.typical = logs ? std::exp(mean) : mean;
        const auto judge_median = [&](double m, double& change, double& p_value) {
          change = v.typical != 0 ? m / v.typical - 1 : 0;
          p_value = prediction_test(h, logs ? std::log(m) : m, !policy->higher_is_better).p_value;
        };
        judge_median(v.new_median, v.change, v.p_value);
        if (!v.disturbed.empty() && policy->scales_with_machine && policy->higher_is_better)
          judge_median(median(undisturbed_rate_bounds(s, metric)), v.credited_change, v.credited_p);
      }
      out.verdicts.push_back(std::move(v));
      judged_policies.push_back(*policy);
    }
  }
  // Counts take no part in the Holm family: they are judged without chance.
  std::vector<double> p;
  for (std::size_t i = 0; i < out.verdicts.size(); ++i)
    if (!judged_policies[i].counted) p.push_back(out.verdicts[i].p_value);
  const auto adjusted = holm_adjust(p);
  for (std::size_t i = 0, k = 0; i < out.verdicts.size(); ++i) {
    auto& v = out.verdicts[i];
    const MetricPolicy& policy = judged_policies[i];
    if (policy.counted) {
      v.verdict = v.runs < kMinHistoryRuns ? Verdict::inconclusive : v.counts.verdict;
      v.reason = v.runs < kMinHistoryRuns
                     ? fmt::format("{} earlier runs of this machine in the history; {} needed", v.runs, kMinHistoryRuns)
                     : v.counts.reason;
      continue;
    }
    v.p_adjusted = adjusted[k++];
    const bool worse = policy.higher_is_better ? v.change < 0 : v.change > 0;
    const bool practical = std::fabs(v.change) > policy.threshold && std::fabs(v.new_median - v.typical) >= policy.floor;
    if (v.runs < kMinHistoryRuns) {
      v.verdict = Verdict::inconclusive;
      v.reason = fmt::format("{} earlier runs of this machine in the history; {} needed", v.runs, kMinHistoryRuns);
    } else if (!practical) {
      v.verdict = Verdict::unchanged;
      v.reason = fmt::format("{:+.1f} % of the last {} runs, within ±{:.0f} %", v.change * 100, v.runs, policy.threshold * 100);
    } else if (worse && v.p_adjusted < alpha) {
      v.verdict = Verdict::regressed;
      v.reason = fmt::format("{:+.1f} %, outside the one-sided prediction interval of the last {} runs (p = {}, Holm over "
                             "{} {})", v.change * 100, v.runs, plain_p(v.p_value), p.size(), plain_p(v.p_adjusted));
    } else if (!worse) {
      v.verdict = Verdict::improved;
      v.reason = fmt::format("{:+.1f} % better than the last {} runs", v.change * 100, v.runs);
    } else {
      v.verdict = Verdict::inconclusive;
      v.reason = fmt::format("{:+.1f} %, but within the spread of the last {} runs (p = {}, Holm {})", v.change * 100,
                             v.runs, plain_p(v.p_value), plain_p(v.p_adjusted));
    }
    if (!v.disturbed.empty()) judge_disturbed(v, policy, p.size(), alpha);
  }
  return out;
}

}  // namespace aiway
