#include "compare/history_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
  return fmt::format("history: {} regressed, {} improved, {} inconclusive, {} unchanged of {} gating metrics. {}",
                     n[int(Verdict::regressed)], n[int(Verdict::improved)], n[int(Verdict::inconclusive)],
                     n[int(Verdict::unchanged)], verdicts.size(), regressed() ? "Regression." : "No regression.");
}

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
      if (history.size() >= 2) {
        double mean = 0;
        for (double x : h) mean += x;
        mean /= double(h.size());
        v.typical = logs ? std::exp(mean) : mean;
        v.change = v.typical != 0 ? v.new_median / v.typical - 1 : 0;
        const PredictionTest t = prediction_test(h, logs ? std::log(v.new_median) : v.new_median, !policy->higher_is_better);
        v.p_value = t.p_value;
      }
      out.verdicts.push_back(std::move(v));
      judged_policies.push_back(*policy);
    }
  }
  std::vector<double> p;
  for (const auto& v : out.verdicts) p.push_back(v.p_value);
  const auto adjusted = holm_adjust(p);
  for (std::size_t i = 0; i < out.verdicts.size(); ++i) {
    auto& v = out.verdicts[i];
    const MetricPolicy& policy = judged_policies[i];
    v.p_adjusted = adjusted[i];
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
                             "{} {})", v.change * 100, v.runs, plain_p(v.p_value), out.verdicts.size(), plain_p(v.p_adjusted));
    } else if (!worse) {
      v.verdict = Verdict::improved;
      v.reason = fmt::format("{:+.1f} % better than the last {} runs", v.change * 100, v.runs);
    } else {
      v.verdict = Verdict::inconclusive;
      v.reason = fmt::format("{:+.1f} %, but within the spread of the last {} runs (p = {}, Holm {})", v.change * 100,
                             v.runs, plain_p(v.p_value), plain_p(v.p_adjusted));
    }
  }
  return out;
}

}  // namespace aiway
