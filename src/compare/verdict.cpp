#include "compare/verdict.hpp"

#include "aiway/metrics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>
#include <cmath>
#include <random>
#include <unordered_map>

#include "aiway/scenario_file.hpp"
#include "compare/mann_whitney.hpp"
#include "compare/disturbance.hpp"
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

std::string_view to_string(Rule rule) {
  switch (rule) {
    case Rule::u_test: return "one-sided Mann-Whitney U";
    case Rule::separation: return "complete separation + Hodges-Lehmann shift";
    case Rule::counts: return "counted work: separated beyond the runs' own spread";
  }
  return "?";
}

// A stage counter's practical threshold: it declares a direction, not a size.
constexpr double kStageCounterThreshold = 0.10;

std::vector<MetricPolicy> default_policies() {
  std::vector<MetricPolicy> out;
  for (const MetricDescriptor& m : kMetrics)
    if (m.threshold > 0)
      out.push_back({std::string(m.name), m.better == Better::higher, m.threshold, m.floor, m.speed, false,
                     m.unit == "instructions"});
  return out;
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

std::vector<std::string> gating_metrics(const Scenario& s) {
  std::vector<std::string> out;
  if (!s.compare.gating.empty()) {
    const auto policies = default_policies();
    std::string_view list = s.compare.gating;
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string name(list.substr(0, comma));
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      if (name.empty()) continue;
      if (std::none_of(policies.begin(), policies.end(), [&](const auto& p) { return p.metric == name; })) {
        const auto it = s.origin.find("compare.gating");
        throw InputError(fmt::format("{}: compare.gating: {} is not a compared metric",
                                     it == s.origin.end() ? s.name : it->second, name));
      }
      out.push_back(std::move(name));
    }
    return out;
  }
  out = {"throughput_tps", "latency_p99_us"};
  if (s.control.quit_at) out.push_back("quit_latency_us");
  if (s.backend.rate_tps > 0) out.push_back("cpu_share");
  if (s.channel.overflow != Overflow::block || s.surface_channel.overflow != Overflow::block) out.push_back("loss_ratio");
  // Present only in a run with --count-instructions; a metric neither side has is not judged.
  for (const char* counted : {"instructions_per_token_backend", "instructions_per_token_conductor",
                              "instructions_per_token_surface"})
    out.push_back(counted);
  return out;
}

bool schedule_bound(const Scenario& s) { return s.backend.rate_tps > 0 || s.hop1.active(); }

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

double hodges_lehmann_shift(const std::vector<double>& base, const std::vector<double>& current) {
  std::vector<double> d;
  d.reserve(base.size() * current.size());
  for (double b : base)
    for (double c : current) d.push_back(c - b);
  return d.empty() ? 0 : median(std::move(d));
}

double robust_spread(const std::vector<double>& values) {
  if (values.empty()) return 0;
  const double m = median(values);
  std::vector<double> dev;
  dev.reserve(values.size());
  for (double v : values) dev.push_back(std::fabs(v - m));
  return 1.4826 * median(std::move(dev));
}

namespace {

double relative_change(double base, double current) {
  if (base != 0) return current / base - 1;
  return current == 0 ? 0 : (current > 0 ? INFINITY : -INFINITY);
}

// Complete separation in the given direction (current all above base, or all below).
bool separated(const std::vector<double>& base, const std::vector<double>& current, bool above) {
  const auto [bmin, bmax] = std::minmax_element(base.begin(), base.end());
  const auto [cmin, cmax] = std::minmax_element(current.begin(), current.end());
  return above ? *cmin > *bmax : *cmax < *bmin;
}

struct Decision {
  bool harm = false, better = false;
};

// The rule on one pair of samples. For the separation rule the shift must pass
// the practical threshold, the absolute floor and 3x the base's robust spread.
Decision decide(Rule rule, const MetricPolicy& policy, const std::vector<double>& base, const std::vector<double>& cur,
                double p_harm, double p_better, double level) {
  const double base_median = median(base);
  const double change = relative_change(base_median, median(cur));
  const bool practical = std::fabs(change) > policy.threshold && std::fabs(median(cur) - base_median) >= policy.floor;
  const bool worse = policy.higher_is_better ? change < 0 : change > 0;
  Decision d;
  if (!practical) return d;
  if (rule == Rule::u_test) {
    d.harm = worse && p_harm < level;
    d.better = !worse && p_better < level;
    return d;
  }
  // Three a side at least: with fewer, separation happens by chance too often
  // (1 in 6 for 2 vs 2) and the base's spread is not estimated.
  if (base.size() < 3 || cur.size() < 3) return d;
  const double shift = hodges_lehmann_shift(base, cur);
  const bool large = std::fabs(shift) > policy.threshold * std::fabs(base_median) &&
                     std::fabs(shift) >= policy.floor && std::fabs(shift) > 3 * robust_spread(base);
  const bool up = shift > 0;
  if (!large || !separated(base, cur, up)) return d;
  const bool shift_worse = policy.higher_is_better ? !up : up;
  d.harm = shift_worse;
  d.better = !shift_worse;
  return d;
}

// The one-sided p-values that the new sample is worse / better than the base.
std::pair<double, double> one_sided(const MetricPolicy& policy, const std::vector<double>& base,
                                    const std::vector<double>& cur) {
  const MannWhitneyResult u = mann_whitney_u(cur, base);
  return policy.higher_is_better ? std::pair{u.p_less, u.p_greater} : std::pair{u.p_greater, u.p_less};
}

// Which rule can decide: the U test when its smallest one-sided p can pass the
// family's first Holm step, else the separation rule.
Rule rule_for(std::size_t n_base, std::size_t n_new, std::size_t family, double alpha) {
  return smallest_one_sided_p(n_base, n_new) < alpha / double(family) ? Rule::u_test : Rule::separation;
}

// The smallest harmful relative change the rule would call a regression: the
// new sample's own noise around the base median, shifted until it does (at
// the family's strictest level, alpha / family).
double smallest_detectable(const MetricPolicy& policy, Rule rule, const std::vector<double>& base,
                           const std::vector<double>& cur, std::size_t family, double alpha) {
  const double base_median = median(base);
  if (base_median == 0 || base.size() < 2 || cur.size() < 2) return INFINITY;
  const double cur_median = median(cur);
  auto regressed_at = [&](double d) {
    const double factor = policy.higher_is_better ? 1 - d : 1 + d;
    std::vector<double> moved;
    moved.reserve(cur.size());
    for (double v : cur) moved.push_back(base_median * factor + (v - cur_median) * factor);
    const auto [p_harm, p_better] = one_sided(policy, base, moved);
    return decide(rule, policy, base, moved, p_harm, p_better, alpha / double(family)).harm;
  };
  const double max = policy.higher_is_better ? 0.999 : 100.0;
  if (!regressed_at(max)) return INFINITY;
  double lo = 0, hi = max;
  for (int i = 0; i < 40; ++i) {
    const double mid = (lo + hi) / 2;
    (regressed_at(mid) ? hi : lo) = mid;
  }
  return hi;
}

std::string percent(double change) {
  if (!std::isfinite(change)) return change > 0 ? "+inf %" : "-inf %";
  return fmt::format("{:+.1f} %", change * 100);
}

// A change that holds even when the disturbed side's repetitions are credited
// with the most their disturbance can explain (compare/disturbance.hpp):
// other work on the machine cannot have made it. The same rule judges the
// credited samples, its p-values Bonferroni-adjusted over the family (at
// least as strict as Holm, whose step-down needs every p of the family).
// Returns the credited change when the change holds.
std::optional<double> beyond_disturbance(const MetricComparison& m, const MetricPolicy& policy,
                                         const std::vector<double>& base, const std::vector<double>& cur,
                                         double alpha) {
  if (base.empty() || cur.empty()) return std::nullopt;
  const auto [p_harm, p_better] = one_sided(policy, base, cur);
  const double family = double(std::max<std::size_t>(m.family, 1));
  const Decision d = decide(rule_for(base.size(), cur.size(), m.family, alpha), policy, base, cur,
                            std::min(1.0, p_harm * family), std::min(1.0, p_better * family), alpha);
  if (m.verdict == Verdict::regressed ? !d.harm : !d.better) return std::nullopt;
  return relative_change(median(base), median(cur));
}

struct Judged {
  MetricPolicy policy;
  std::vector<double> base, judged_new;
  // A rate's samples with disturbed repetitions credited (compare/disturbance.hpp).
  std::vector<double> base_credited, new_credited;
};

// A regressed or improved verdict of a scenario that a side ran on a busy
// machine: it stands only for a rate whose change other work cannot explain
// (a slower build looks like a busier machine, never ten times slower on a
// machine half busy); every other change becomes inconclusive.
void judge_disturbed(MetricComparison& m, const Judged& j, const std::vector<std::string>& disturbed, double alpha) {
  // A regression is credited on the new side (other work only slows), an improvement on the base.
  const bool regressed = m.verdict == Verdict::regressed;
  const auto& base = regressed ? j.base : j.base_credited;
  const auto& cur = regressed ? j.new_credited : j.judged_new;
  if (const auto credited = beyond_disturbance(m, j.policy, base, cur, alpha)) {
    m.reason = fmt::format("{}: more than other work can explain (still {} with each disturbed repetition raised "
                           "by {:g} / (1 - its foreign share), the most that share can slow it); {}",
                           percent(m.change), percent(*credited), kSchedulingMargin, m.reason);
    return;
  }
  m.verdict = Verdict::inconclusive;
  m.reason = fmt::format("{}, but {}", percent(m.change), fmt::join(disturbed, "; "));
}

// A count of work: judge_counts decides, whatever load either side ran under.
void judge_counted(MetricComparison& m, const Judged& j) {
  const CountVerdict v = judge_counts(j.policy, j.base, j.judged_new, "base");
  m.rule = Rule::counts;
  m.family = 1;
  m.p_adjusted = 1;
  m.detectable = std::max(j.policy.threshold, v.spread);
  m.verdict = v.verdict;
  m.reason = v.reason;
}

}  // namespace

void judge(MetricComparison& c, const MetricPolicy& policy, const std::vector<double>& base,
           const std::vector<double>& judged_new, double p_adj_harm, double p_adj_better, double alpha) {
  c.rule = rule_for(base.size(), judged_new.size(), c.family, alpha);
  c.detectable = smallest_detectable(policy, c.rule, base, judged_new, c.family, alpha);
  const bool worse = policy.higher_is_better ? c.change < 0 : c.change > 0;
  c.p_adjusted = worse ? p_adj_harm : p_adj_better;
  const bool beyond = std::fabs(c.change) > policy.threshold;
  const bool above_floor = std::fabs(c.new_median_judged - c.base_median) >= policy.floor;
  const std::string adjusted = c.family > 1 ? fmt::format(", {} over {} metrics {}",
                                                          c.gating ? "Holm" : "BH", c.family, plain_p(c.p_adjusted))
                                            : "";
  const std::string p_text = fmt::format("one-sided p = {}{}", plain_p(worse ? c.p_harm : c.p_better), adjusted);
  if (!beyond || !above_floor) {
    c.verdict = Verdict::unchanged;
    c.reason = !beyond ? fmt::format("{} within ±{:.0f} %", percent(c.change), policy.threshold * 100)
                       : fmt::format("{} but an absolute change of {} is below the floor of {}", percent(c.change),
                                     plain_number(std::fabs(c.new_median_judged - c.base_median)), plain_number(policy.floor));
    return;
  }
  const Decision d = decide(c.rule, policy, base, judged_new, p_adj_harm, p_adj_better, alpha);
  const std::string detect = std::isfinite(c.detectable) ? fmt::format("detectable here: {:.1f} %", c.detectable * 100)
                                                          : "nothing is detectable with these repetitions";
  if (d.harm || d.better) {
    c.verdict = d.harm ? Verdict::regressed : Verdict::improved;
    c.reason = c.rule == Rule::u_test
                   ? fmt::format("{} beyond ±{:.0f} %, {} ({})", percent(c.change), policy.threshold * 100, p_text,
                                 to_string(c.rule))
                   : fmt::format("{} beyond ±{:.0f} %: samples completely separated, Hodges-Lehmann shift {} over "
                                 "3x the base's spread {} ({} vs {} repetitions are too few for the U test)",
                                 percent(c.change), policy.threshold * 100, plain_number(c.hl_shift),
                                 plain_number(3 * robust_spread(base)),
                                 base.size(), judged_new.size());
    return;
  }
  c.verdict = Verdict::inconclusive;
  c.reason = c.rule == Rule::u_test
                 ? fmt::format("{} but not significant ({}); {}: add repetitions", percent(c.change), p_text, detect)
                 : fmt::format("{}, but {} vs {} repetitions are too few for the U test and the samples overlap or "
                               "their shift is within 3x the base's spread; {}: add repetitions",
                               percent(c.change), base.size(), judged_new.size(), detect);
}

CountVerdict judge_counts(const MetricPolicy& policy, const std::vector<double>& base, const std::vector<double>& current,
                          const std::string& base_name) {
  CountVerdict out;
  if (base.empty() || current.empty()) return out;
  const double base_median = median(base), change = relative_change(base_median, median(current));
  std::size_t repeated_sides = 0;
  for (const auto* side : {&base, &current}) {
    if (side->size() < 2) continue;
    ++repeated_sides;
    const auto [lo, hi] = std::minmax_element(side->begin(), side->end());
    const double m = median(*side);
    out.spread = std::max(out.spread, m != 0 ? (*hi - *lo) / std::fabs(m) : (*hi > *lo ? INFINITY : 0));
  }
  const bool worse = policy.higher_is_better ? change < 0 : change > 0;
  if (std::fabs(change) <= policy.threshold) {
    out.reason = fmt::format("{} within ±{:g} % (counted)", percent(change), policy.threshold * 100);
    return out;
  }
  out.verdict = Verdict::inconclusive;
  if (repeated_sides == 0) {
    out.reason = fmt::format("{}, but one count a side: whether this scenario's counts repeat is not shown (count "
                             "two runs or more: -r 2)", percent(change));
    return out;
  }
  if (!separated(base, current, change > 0) || std::fabs(change) <= out.spread) {
    out.reason = fmt::format("{}, but the counts do not repeat: runs of one side differ by up to {:.3g} % (work "
                             "that depends on timing: look at the stages)", percent(change), out.spread * 100);
    return out;
  }
  out.verdict = worse ? Verdict::regressed : Verdict::improved;
  out.reason = fmt::format("{} beyond ±{:g} %: every count apart from every count of the {} (runs of a side within "
                           "{:.3g} % of each other); counted work, which other work on the machine does not change",
                           percent(change), policy.threshold * 100, base_name, out.spread * 100);
  return out;
}

MetricComparison verdict_for(const MetricPolicy& policy, const std::vector<double>& base,
                             const std::vector<double>& current, double alpha) {
  MetricComparison c;
  c.metric = policy.metric;
  c.gating = true;
  c.base_median = median(base);
  c.new_median = c.new_median_judged = median(current);
  c.change = c.raw_change = relative_change(c.base_median, c.new_median);
  c.ci = bootstrap_median_change(base, current);
  c.hl_shift = hodges_lehmann_shift(base, current);
  std::tie(c.p_harm, c.p_better) = one_sided(policy, base, current);
  judge(c, policy, base, current, c.p_harm, c.p_better, alpha);
  return c;
}

bool Comparison::regressed() const {
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics)
      if (decides(m) && m.verdict == Verdict::regressed) return true;
  return false;
}

bool Comparison::inconclusive() const {
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics)
      if (decides(m) && m.verdict == Verdict::inconclusive) return true;
  return false;
}

VerdictCounts Comparison::counts(bool deciding_only) const {
  VerdictCounts n;
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics) {
      if (deciding_only && !decides(m)) continue;
      switch (m.verdict) {
        case Verdict::regressed: ++n.regressed; break;
        case Verdict::improved: ++n.improved; break;
        case Verdict::inconclusive: ++n.inconclusive; break;
        case Verdict::unchanged: ++n.unchanged; break;
      }
    }
  return n;
}

std::string Comparison::headline() const {
  const VerdictCounts all = counts(false), gate = counts(true);
  std::vector<std::string> regressions;
  for (const auto& s : scenarios)
    for (const auto& m : s.metrics)
      if (decides(m) && m.verdict == Verdict::regressed) regressions.push_back(fmt::format("{} {}", s.scenario, m.metric));
  const std::string outcome = regressed() ? fmt::format("Regression: {}.", fmt::join(regressions, ", "))
                              : gate.inconclusive ? "No regression shown; some gating verdicts are inconclusive."
                                                  : "No regression.";
  return fmt::format("{} regressed, {} improved, {} inconclusive, {} unchanged; {}: {} regressed, {} improved, {} "
                     "inconclusive, {} unchanged. {}",
                     all.regressed, all.improved, all.inconclusive, all.unchanged, strict ? "deciding (strict)" : "gating",
                     gate.regressed, gate.improved, gate.inconclusive, gate.unchanged, outcome);
}

std::vector<std::string> workload_differences(const Scenario& base, const Scenario& current) {
  const auto a = scenario_fields(base), b = scenario_fields(current);
  auto text = [](const FieldValue& v) {
    return std::visit([](const auto& x) -> std::string {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::monostate>) return "unset";
      else if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", x);
      else return fmt::format("{}", x);
    }, v);
  };
  // By name: two stages may declare different parameters. The trace's path
  // differs between checkouts; its shape (streams, messages) is compared.
  std::map<std::string, const FieldValue*> in_current;
  for (const Field& f : b) in_current[f.section + "." + f.key] = &f.value;
  std::vector<std::string> out;
  for (const Field& f : a) {
    if (!is_workload_section(f.section) || (f.section == "backend" && f.key == "trace")) continue;
    const auto it = in_current.find(f.section + "." + f.key);
    const FieldValue unset;
    const FieldValue& other = it == in_current.end() ? unset : *it->second;
    if (!(f.value == other)) out.push_back(fmt::format("{}.{}: {} vs {}", f.section, f.key, text(f.value), text(other)));
  }
  return out;
}

namespace {

// How the two sides were measured, said before any verdict: different
// machines (and the calibration's ratio), one process a side, an interrupted run.
void note_method(const RunResults& base, const RunResults& current, Comparison& out) {
  out.same_machine = base.machine.fingerprint == current.machine.fingerprint;
  if (!out.same_machine)
    out.machine_note = fmt::format("different machines or builds: base {}{} ({}, {} CPUs, {}, {}) vs new {}{} ({}, {} CPUs, {}, {})",
                                   base.machine.fingerprint,
                                   base.machine.label.empty() ? "" : " \"" + base.machine.label + "\"", base.machine.cpu_model, base.machine.logical_cpus,
                                   base.tool.compiler, base.tool.allocator, current.machine.fingerprint,
                                   current.machine.label.empty() ? "" : " \"" + current.machine.label + "\"",
                                   current.machine.cpu_model, current.machine.logical_cpus, current.tool.compiler,
                                   current.tool.allocator);
  if (!out.same_machine && base.machine.calibration && current.machine.calibration) {
    out.speed_ratio = current.machine.calibration->score / base.machine.calibration->score;
    for (const auto* side : {&base, &current})
      if (calibration_disturbed(*side->machine.calibration))
        out.method_notes.push_back(fmt::format(
            "the {} machine was calibrated while other work used {:.0f} % of its CPU: its score is low by an unknown "
            "amount, and so the normalised figures are uncertain", side == &base ? "base" : "new",
            *side->machine.calibration->foreign_cpu_share * 100));
  }
  for (const auto* side : {&base, &current}) {
    if (side->method.processes == 1)
      out.method_notes.push_back(fmt::format(
          "the {} results took every repetition in one process: the spread between processes is not sampled, so "
          "a change may look more certain than it is (use run --processes N)", side == &base ? "base" : "new"));
    if (side->interrupted)
      out.method_notes.push_back(fmt::format("the {} run was interrupted: it holds only the repetitions completed "
                                             "before the stop", side == &base ? "base" : "new"));
  }
}

// One metric of one scenario, both sides' samples in hand: the medians, the
// change, its interval and the one-sided p-values; the samples as judged
// (normalised across machines, disturbed rates credited) for the verdict.
std::pair<MetricComparison, Judged> compare_metric(const MetricPolicy& policy, const ScenarioResult& b, const ScenarioResult& n,
                                                   std::vector<double> before, std::vector<double> after, bool gating,
                                                   bool bound, std::optional<double> speed_ratio, bool disturbed) {
  MetricComparison m;
  m.metric = policy.metric;
  m.gating = gating;
  m.base_median = median(before);
  m.new_median = median(after);
  m.raw_change = relative_change(m.base_median, m.new_median);
  const bool time_like = policy.metric.find("cpu_") == 0;  // stage CPU seconds scale even when paced
  if (speed_ratio && policy.scales_with_machine && !policy.counted && (!bound || time_like)) {
    // Judged on the new machine's figures as the base machine would have shown them.
    for (double& v : after) v = policy.higher_is_better ? v / *speed_ratio : v * *speed_ratio;
    m.normalised = true;
  }
  Judged j{policy, before, {}, {}, {}};
  if (disturbed && policy.scales_with_machine && policy.higher_is_better) {
    j.base_credited = undisturbed_rate_bounds(b, policy.metric);
    j.new_credited = undisturbed_rate_bounds(n, policy.metric);
    if (m.normalised)
      for (double& v : j.new_credited) v /= *speed_ratio;
  }
  m.new_median_judged = median(after);
  m.change = relative_change(m.base_median, m.new_median_judged);
  m.ci = bootstrap_median_change(before, after);
  m.hl_shift = hodges_lehmann_shift(before, after);
  std::tie(m.p_harm, m.p_better) = one_sided(policy, before, after);
  j.judged_new = std::move(after);
  return {std::move(m), std::move(j)};
}

// Gating metrics: one Holm family for the whole comparison, since the exit
// code is one decision over all of them (for one scenario that is its own
// gating family). Advisory metrics: Benjamini–Hochberg over all of them.
// Counts are judged without chance: they take no part in either family.
void judge_families(Comparison& out, const std::vector<std::vector<Judged>>& judged, double alpha) {
  std::vector<double> gate_harm, gate_better, adv_harm, adv_better;
  for (std::size_t si = 0; si < out.scenarios.size(); ++si)
    for (std::size_t mi = 0; mi < out.scenarios[si].metrics.size(); ++mi) {
      const auto& m = out.scenarios[si].metrics[mi];
      if (judged[si][mi].policy.counted) continue;
      (m.gating ? gate_harm : adv_harm).push_back(m.p_harm);
      (m.gating ? gate_better : adv_better).push_back(m.p_better);
    }
  const auto gate_harm_adj = holm_adjust(gate_harm), gate_better_adj = holm_adjust(gate_better);
  const auto adv_harm_adj = benjamini_hochberg_adjust(adv_harm), adv_better_adj = benjamini_hochberg_adjust(adv_better);
  std::size_t g = 0, adv = 0;
  for (std::size_t si = 0; si < out.scenarios.size(); ++si) {
    auto& s = out.scenarios[si];
    for (std::size_t mi = 0; mi < s.metrics.size(); ++mi) {
      auto& m = s.metrics[mi];
      const Judged& j = judged[si][mi];
      if (j.policy.counted) {
        judge_counted(m, j);
        continue;
      }
      if (m.gating) {
        m.family = gate_harm.size();
        judge(m, j.policy, j.base, j.judged_new, gate_harm_adj[g], gate_better_adj[g], alpha);
        ++g;
      } else {
        m.family = adv_harm.size();
        judge(m, j.policy, j.base, j.judged_new, adv_harm_adj[adv], adv_better_adj[adv], alpha);
        ++adv;
      }
      if (!s.disturbed.empty() && (m.verdict == Verdict::regressed || m.verdict == Verdict::improved))
        judge_disturbed(m, j, s.disturbed, alpha);
    }
  }
}

}  // namespace

Comparison compare_results(const RunResults& base, const RunResults& current, const std::vector<MetricPolicy>& policies,
                           const CompareOptions& options) {
  const double alpha = options.alpha;
  Comparison out;
  out.strict = options.strict;
  note_method(base, current, out);
  std::unordered_map<std::string, const ScenarioResult*> base_by_name, new_by_name;
  for (const auto& s : base.scenarios) base_by_name.emplace(s.scenario.name, &s);
  for (const auto& s : current.scenarios) new_by_name.emplace(s.scenario.name, &s);
  for (const auto& b : base.scenarios)
    if (!new_by_name.count(b.scenario.name)) out.scenarios_only_in_base.push_back(b.scenario.name);

  std::vector<std::vector<Judged>> judged;  // per scenario, per metric
  for (const auto& n : current.scenarios) {
    const auto found = base_by_name.find(n.scenario.name);
    if (found == base_by_name.end()) {
      out.scenarios_only_in_new.push_back(n.scenario.name);
      continue;
    }
    const ScenarioResult* b = found->second;
    if (const auto diff = workload_differences(b->scenario, n.scenario); !diff.empty()) {
      if (!options.allow_different_workload)
        throw WorkloadMismatch(fmt::format("{}: the two sides ran different workloads ({}): their figures are not "
                                           "comparable (--allow-different-workload compares them anyway)",
                                           n.scenario.name, fmt::join(diff, "; ")));
      out.workload_notes.push_back(fmt::format("{}: DIFFERENT WORKLOADS compared on request: {}", n.scenario.name,
                                               fmt::join(diff, "; ")));
    }
    ScenarioComparison sc;
    sc.scenario = n.scenario.name;
    if (!out.same_machine) sc.attribution = attribute_change(*b, n);
    if (b->repetitions.empty() || n.repetitions.empty())
      throw InputError(fmt::format("{}: the {} side has no repetitions: there is nothing to compare",
                                     n.scenario.name, b->repetitions.empty() ? "base" : "new"));
    for (const auto* side : {b, &n})
      if (const std::string d = describe_disturbed(disturbance_of(*side)); !d.empty()) {
        sc.disturbed.push_back(fmt::format("{} in the {} results", d, side == b ? "base" : "new"));
        out.method_notes.push_back(fmt::format("{}: {}: its changes are inconclusive, since a busier machine cannot be "
                                               "told from a slower build (except a throughput change larger than "
                                               "that load can explain, and counted instructions)",
                                               n.scenario.name, sc.disturbed.back()));
      }
    const std::vector<std::string> gating = gating_metrics(n.scenario);
    const bool bound = schedule_bound(n.scenario);
    std::vector<Judged> metrics;
    // The new side's [compare] wins over the base's: it is the scenario as it is now.
    // A stage's own counters that declare a direction are judged too (advisory).
    std::vector<MetricPolicy> scenario_policies = policies_for(policies_for(policies, b->scenario), n.scenario);
    for (const auto& [name, info] : n.counters)
      if (info.better != Better::neither && b->counters.count(name))
        scenario_policies.push_back({name, info.better == Better::higher, kStageCounterThreshold});
    for (const auto& policy : scenario_policies) {
      auto before = metric_values(b->repetitions, policy.metric);
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
      auto [m, j] = compare_metric(policy, *b, n, std::move(before), std::move(after),
                                   std::find(gating.begin(), gating.end(), policy.metric) != gating.end(), bound,
                                   out.speed_ratio, !sc.disturbed.empty());
      sc.metrics.push_back(std::move(m));
      metrics.push_back(std::move(j));
    }
    out.scenarios.push_back(std::move(sc));
    judged.push_back(std::move(metrics));
  }
  judge_families(out, judged, alpha);
  return out;
}

}  // namespace aiway
