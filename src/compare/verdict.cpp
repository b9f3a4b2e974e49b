#include "compare/verdict.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "aiway/scenario_file.hpp"
#include "compare/mann_whitney.hpp"
#include "compare/statistics.hpp"

namespace aiway {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::improved: return "improved";
    case Verdict::regressed: return "regressed";
    case Verdict::unchanged: return "unchanged";
    case Verdict::inconclusive: return "inconclusive";
  }
  return "?";
}

std::vector<MetricPolicy> default_policies() {
  constexpr bool speed = true;
  return {
      {"throughput_tps", true, 0.05, 0, speed},    {"throughput_bytes_per_s", true, 0.05, 0, speed},
      {"latency_p50_us", false, 0.10, 0, speed},   {"latency_p99_us", false, 0.10, 0, speed},
      {"latency_p999_us", false, 0.20, 0, speed},  {"hop1_p99_us", false, 0.10, 0, speed},
      {"hop2_p99_us", false, 0.10, 0, speed},      {"ttft_us", false, 0.10, 0, speed},
      {"rss_growth_bytes", false, 0.10, 16.0 * 1024 * 1024},
      {"cpu_share", false, 0.10},
      {"cpu_conductor_s", false, 0.10, 0, speed},  {"cpu_surface_s", false, 0.10, 0, speed},
      {"quit_latency_us", false, 0.20, 0, speed},  {"allocs_per_token", false, 0.05},
      {"alloc_bytes_per_token", false, 0.05},
  };
}

std::vector<MetricPolicy> policies_for(const std::vector<MetricPolicy>& policies, const Scenario& scenario) {
  std::vector<MetricPolicy> out = policies;
  for (const Field& field : scenario_fields(scenario)) {
    if (field.section != "compare" || !std::holds_alternative<double>(field.value)) continue;
    for (auto& p : out)
      if (p.metric == field.key && !p.from_command_line) p.threshold = std::get<double>(field.value);
  }
  return out;
}

ConfidenceInterval bootstrap_median_change(const std::vector<double>& base, const std::vector<double>& current,
                                           int resamples, std::uint64_t seed) {
  if (base.empty() || current.empty()) return {};
  std::mt19937_64 rng(seed);
  auto resample = [&](const std::vector<double>& v, std::vector<double>& out) {
    std::uniform_int_distribution<std::size_t> pick(0, v.size() - 1);
    for (auto& x : out) x = v[pick(rng)];
    return median(out);
  };
  std::vector<double> a(base.size()), b(current.size()), changes;
  changes.reserve(std::size_t(resamples));
  for (int i = 0; i < resamples; ++i) {
    const double m0 = resample(base, a), m1 = resample(current, b);
    if (m0 != 0) changes.push_back(m1 / m0 - 1);
  }
  if (changes.empty()) return {};
  std::sort(changes.begin(), changes.end());
  auto at = [&](double q) { return changes[std::size_t(std::floor(q * double(changes.size() - 1)))]; };
  return {at(0.025), at(0.975)};
}

MetricComparison measure_change(const MetricPolicy& policy, const std::vector<double>& base,
                                const std::vector<double>& current) {
  MetricComparison c;
  c.metric = policy.metric;
  c.base_median = median(base);
  c.new_median = median(current);
  if (c.base_median != 0) c.change = c.new_median / c.base_median - 1;
  else c.change = c.new_median == 0 ? 0 : (c.new_median > 0 ? INFINITY : -INFINITY);
  c.raw_change = c.change;
  c.ci = bootstrap_median_change(base, current);
  c.p_value = mann_whitney_u(base, current).p_value;
  c.p_adjusted = c.p_value;
  return c;
}

void judge(MetricComparison& c, const MetricPolicy& policy, std::size_t n_base, std::size_t n_new, double alpha) {
  const bool practical = std::fabs(c.change) > policy.threshold &&
                         std::fabs(c.new_median - c.base_median) >= policy.floor;
  const bool worse = policy.higher_is_better ? c.change < 0 : c.change > 0;
  const double best_p = smallest_possible_p(n_base, n_new);
  const std::string p_text = c.family > 1 ? fmt::format("p = {:.3g}, Holm-adjusted over {} metrics {:.3g}", c.p_value,
                                                        c.family, c.p_adjusted)
                                          : fmt::format("p = {:.3g}", c.p_value);
  if (!practical) {
    c.verdict = Verdict::unchanged;
    c.reason = c.p_adjusted < alpha ? fmt::format("significant but within ±{:.0f} %", policy.threshold * 100) : p_text;
  } else if (best_p * double(c.family) > alpha) {
    // Holm's first step needs p < alpha / family: out of reach for these counts.
    c.verdict = Verdict::inconclusive;
    c.reason = fmt::format("{:+.1f} %, but {} vs {} repetitions reach p = {:.2g} at best, and {} compared metrics need "
                           "p < {:.2g}: add repetitions",
                           c.change * 100, n_base, n_new, best_p, c.family, alpha / double(c.family));
  } else if (c.p_adjusted < alpha) {
    c.verdict = worse ? Verdict::regressed : Verdict::improved;
    c.reason = fmt::format("{:+.1f} % beyond ±{:.0f} %, {}", c.change * 100, policy.threshold * 100, p_text);
  } else {
    c.verdict = Verdict::inconclusive;
    c.reason = fmt::format("{:+.1f} % but not significant ({}): too noisy to tell", c.change * 100, p_text);
  }
}

MetricComparison verdict_for(const MetricPolicy& policy, const std::vector<double>& base,
                             const std::vector<double>& current, double alpha) {
  MetricComparison c = measure_change(policy, base, current);
  judge(c, policy, base.size(), current.size(), alpha);
  return c;
}

bool Comparison::regressed() const {
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics)
      if (m.verdict == Verdict::regressed) return true;
  return false;
}

bool Comparison::inconclusive() const {
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics)
      if (m.verdict == Verdict::inconclusive) return true;
  return false;
}

Comparison compare_results(const RunResults& base, const RunResults& current, const std::vector<MetricPolicy>& policies,
                           double alpha) {
  Comparison out;
  out.same_machine = base.machine.fingerprint == current.machine.fingerprint;
  if (!out.same_machine)
    out.machine_note = fmt::format("different machines or builds: base {} ({}, {} CPUs, {}, {}) vs new {} ({}, {} CPUs, {}, {})",
                                   base.machine.fingerprint, base.machine.cpu_model, base.machine.logical_cpus,
                                   base.tool.compiler, base.tool.allocator, current.machine.fingerprint,
                                   current.machine.cpu_model, current.machine.logical_cpus, current.tool.compiler,
                                   current.tool.allocator);
  auto find = [](const RunResults& r, const std::string& name) -> const ScenarioResult* {
    for (const auto& s : r.scenarios)
      if (s.scenario.name == name) return &s;
    return nullptr;
  };
  if (!out.same_machine && base.machine.calibration && current.machine.calibration) {
    out.speed_ratio = current.machine.calibration->score / base.machine.calibration->score;
    for (const auto* side : {&base, &current})
      if (calibration_disturbed(*side->machine.calibration))
        out.method_notes.push_back(fmt::format(
            "the {} machine was calibrated while other work used {:.0f} % of its CPU: its score is low by an unknown "
            "amount, and so the normalised figures are uncertain", side == &base ? "base" : "new",
            *side->machine.calibration->foreign_cpu_share * 100));
  }
  for (const auto* side : {&base, &current})
    if (side->method.processes == 1)
      out.method_notes.push_back(fmt::format(
          "the {} results took every repetition in one process: the spread between processes is not sampled, so "
          "a change may look more certain than it is (use run --processes N)", side == &base ? "base" : "new"));
  for (const auto& b : base.scenarios)
    if (!find(current, b.scenario.name)) out.scenarios_only_in_base.push_back(b.scenario.name);
  struct Judged {
    MetricPolicy policy;
    std::size_t n_base, n_new;
  };
  std::vector<Judged> judged;  // per compared metric, in order
  for (const auto& n : current.scenarios) {
    const ScenarioResult* b = find(base, n.scenario.name);
    if (!b) {
      out.scenarios_only_in_new.push_back(n.scenario.name);
      continue;
    }
    ScenarioComparison sc;
    sc.scenario = n.scenario.name;
    for (const auto* side : {b, &n})
      if (const std::string d = describe_disturbed(disturbance_of(*side)); !d.empty()) {
        sc.disturbed.push_back(fmt::format("{} in the {} results", d, side == b ? "base" : "new"));
        out.method_notes.push_back(fmt::format("{}: {}: its changes are inconclusive, since a busier machine cannot be "
                                               "told from a slower build",
                                               n.scenario.name, sc.disturbed.back()));
      }
    // The new side's [compare] wins over the base's: it is the scenario as it is now.
    for (const auto& policy : policies_for(policies_for(policies, b->scenario), n.scenario)) {
      const auto before = metric_values(b->repetitions, policy.metric);
      auto after = metric_values(n.repetitions, policy.metric);
      if (before.empty() && after.empty()) continue;
      if (after.empty()) {
        sc.only_in_base.push_back(policy.metric);
        continue;
      }
      if (before.empty()) {
        sc.only_in_new.push_back(policy.metric);
        continue;
      }
      MetricComparison m = measure_change(policy, before, after);
      if (out.speed_ratio && policy.scales_with_machine) {
        // Judged on the new machine's figures as the base machine would have shown them.
        const double raw_change = m.change;
        for (double& v : after) v = policy.higher_is_better ? v / *out.speed_ratio : v * *out.speed_ratio;
        m = measure_change(policy, before, after);
        m.raw_change = raw_change;
        m.normalised = true;
      }
      sc.metrics.push_back(std::move(m));
      judged.push_back({policy, before.size(), after.size()});
    }
    out.scenarios.push_back(std::move(sc));
  }
  // One family: every metric of every scenario compared.
  std::vector<double> p_values;
  for (const auto& s : out.scenarios)
    for (const auto& m : s.metrics) p_values.push_back(m.p_value);
  const std::vector<double> adjusted = holm_adjust(p_values);
  std::size_t k = 0;
  for (auto& s : out.scenarios)
    for (auto& m : s.metrics) {
      m.p_adjusted = adjusted[k];
      m.family = adjusted.size();
      judge(m, judged[k].policy, judged[k].n_base, judged[k].n_new, alpha);
      if (!s.disturbed.empty() && (m.verdict == Verdict::regressed || m.verdict == Verdict::improved)) {
        m.verdict = Verdict::inconclusive;
        m.reason = fmt::format("{:+.1f} %, but {}", m.change * 100, fmt::join(s.disturbed, "; "));
      }
      ++k;
    }
  return out;
}

}  // namespace aiway
