// Verdicts on the change of a metric between two sets of repetitions.
//
// Each scenario has a small family of *gating* metrics (throughput and p99 by
// default, plus quit latency when it quits, CPU share when it is paced, loss
// when a channel may drop); they decide the exit code. Every other metric is
// *advisory*: reported, and gating only with `strict`.
//
// A change is a regression only when it is larger than the metric's practical
// threshold and the decision rule says it is real:
// - the exact (or, with ties or large samples, normal) one-sided Mann–Whitney
//   test in the harmful direction, Holm-adjusted over every gating metric of
//   the comparison (the exit code is one decision over all of them; for one
//   scenario that is its own gating family; advisory metrics:
//   Benjamini–Hochberg over all of them), whenever the test can reach the
//   corrected level with these sample sizes;
// - otherwise complete separation of the two samples with a Hodges–Lehmann
//   shift beyond both the practical threshold and 3x the base's robust spread
//   (1.4826 x MAD), with at least three repetitions a side: a rule that can
//   decide where the test cannot.
// Improvements are judged the same way in the other direction. A change beyond
// the threshold that the rule cannot confirm is inconclusive: more
// repetitions could decide it. Each verdict names the rule that decided and
// the smallest change the comparison could have detected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aiway/input_error.hpp"
#include "aiway/results.hpp"
#include "compare/attribution.hpp"

namespace aiway {

enum class Verdict { improved, regressed, unchanged, inconclusive };
std::string_view to_string(Verdict verdict);

struct MetricPolicy {
  std::string metric;
  bool higher_is_better;
  double threshold;  // relative change that matters in practice, e.g. 0.05
  double floor = 0;  // and an absolute change below this never matters (allocator noise in RSS)
  // A figure of speed (throughput, a time): on a faster machine it is better by
  // the ratio of the calibration scores, so across machines it is normalised --
  // unless the scenario's schedule or network bounds it (paced, hop1 delay).
  bool scales_with_machine = false;
  bool from_command_line = false;  // then a scenario's [compare] does not override it
  // A count of work (unit "instructions"): judged by judge_counts, never by
  // chance, never normalised by the machines' speed, and a busy machine does
  // not make its verdict inconclusive.
  bool counted = false;
};
// The metrics the gate judges, their directions and default thresholds.
std::vector<MetricPolicy> default_policies();
// The policies with a scenario's [compare] thresholds applied (the command line's stay).
std::vector<MetricPolicy> policies_for(const std::vector<MetricPolicy>& policies, const Scenario& scenario);
// The scenario's gating family: its [compare] gating list, or the default
// (throughput_tps, latency_p99_us; quit_latency_us when it quits; cpu_share
// when paced; loss_ratio when a channel may drop; each stage's instructions
// per token, which only a run with --count-instructions has). Throws InputError for a name
// that is not a compared metric.
std::vector<std::string> gating_metrics(const Scenario& scenario);
// Throughput and latency of a paced or network-delayed scenario follow its
// schedule, not the machine's speed: never normalised by calibration.
bool schedule_bound(const Scenario& scenario);

struct ConfidenceInterval {
  double low = 0, high = 0;
};
// Bootstrap 95 % interval of median(new) / median(base) - 1, from `resamples`
// resamples of each side (seeded, so a comparison is reproducible).
ConfidenceInterval bootstrap_median_change(const std::vector<double>& base, const std::vector<double>& current,
                                           int resamples = 2000, std::uint64_t seed = 1);
// Median of all pairwise differences current[j] - base[i].
double hodges_lehmann_shift(const std::vector<double>& base, const std::vector<double>& current);
// 1.4826 x the median absolute deviation: the standard deviation for normal data.
double robust_spread(const std::vector<double>& values);

enum class Rule { u_test, separation, counts };
std::string_view to_string(Rule rule);

struct MetricComparison {
  std::string metric;
  bool gating = false;
  double base_median = 0;
  double new_median = 0;           // as measured
  double new_median_judged = 0;    // as judged: normalised when `normalised`
  double change = 0;      // relative, as judged: new / base - 1
  double raw_change = 0;  // relative, as measured
  bool normalised = false;  // new figures divided by the machines' speed ratio
  ConfidenceInterval ci;
  double hl_shift = 0;      // Hodges–Lehmann shift, as judged (new - base)
  double p_harm = 1, p_better = 1;  // one-sided U tests, unadjusted
  double p_adjusted = 1;  // of the direction the change went: Holm (gating) or BH (advisory)
  std::size_t family = 1; // how many metrics the adjustment covered
  Rule rule = Rule::u_test;
  // The smallest harmful change (relative) the rule would have called a
  // regression with these repetitions and this noise; infinity when none.
  double detectable = 0;
  Verdict verdict = Verdict::unchanged;
  std::string reason;  // why, in a few words
};

// Judges one metric with the given family size and adjusted p-values.
// p_adj_harm / p_adj_better: the one-sided p-values after the family's adjustment.
void judge(MetricComparison& c, const MetricPolicy& policy, const std::vector<double>& base,
           const std::vector<double>& judged_new, double p_adj_harm, double p_adj_better, double alpha);
// Counts of work repeat run to run (to far better than 0.1 %), so they are
// judged without chance: a change beyond the threshold is real when every
// count of one side lies beyond every count of the other, by more than the
// runs of either side differ among themselves (its spread, measured on the
// sides with two or more runs; with none, or counts that do not repeat, it is
// inconclusive). `base_name` names the base in the reason ("base", "the last
// 5 runs").
struct CountVerdict {
  Verdict verdict = Verdict::unchanged;
  std::string reason;
  double spread = 0;  // the widest side's (max - min) / median
};
CountVerdict judge_counts(const MetricPolicy& policy, const std::vector<double>& base, const std::vector<double>& current,
                          const std::string& base_name);

// One metric on its own, as a gating family of one.
MetricComparison verdict_for(const MetricPolicy& policy, const std::vector<double>& base,
                             const std::vector<double>& current, double alpha = 0.05);

// A whole comparison of two results: every scenario and metric on either side
// is reported; those on one side only are listed, never skipped.
struct ScenarioComparison {
  std::string scenario;
  std::vector<MetricComparison> metrics;
  std::vector<std::string> only_in_base, only_in_new;  // metric names
  // Sides with repetitions that other work on the machine disturbed (re-runs
  // ran out): no change of this scenario is then called a regression.
  std::vector<std::string> disturbed;
  std::vector<std::string> interrupted;  // "base" / "new": that side's run was interrupted
  // Two machines: what the difference is, the machine's or the software's.
  std::optional<MachineAttribution> attribution;
};
struct VerdictCounts {
  std::size_t regressed = 0, improved = 0, inconclusive = 0, unchanged = 0;
};
struct CompareOptions {
  double alpha = 0.05;
  bool strict = false;  // advisory metrics gate too
  bool allow_different_workload = false;
};
struct Comparison {
  std::vector<ScenarioComparison> scenarios;
  std::vector<std::string> scenarios_only_in_base, scenarios_only_in_new;
  bool same_machine = true;
  std::string machine_note;
  // new score / base score, when both sides were calibrated on different machines.
  std::optional<double> speed_ratio;
  std::vector<std::string> method_notes;  // e.g. repetitions that all came from one process
  std::vector<std::string> workload_notes;  // differences allowed by allow_different_workload
  bool strict = false;
  // Verdicts that decide the exit code: gating metrics, or every metric when strict.
  bool decides(const MetricComparison& m) const { return m.gating || strict; }
  bool regressed() const;
  bool inconclusive() const;
  VerdictCounts counts(bool deciding_only) const;
  // "2 regressed, 0 improved, 3 inconclusive, 40 unchanged; gating: 1 regressed (1m-short throughput_tps), ..."
  std::string headline() const;
};

// Two results of different workloads: exit 2, naming the field and both values.
class WorkloadMismatch : public InputError {
 public:
  using InputError::InputError;
};
// Workload fields whose values differ between two scenarios: "backend.messages: 1000000 vs 20000".
std::vector<std::string> workload_differences(const Scenario& base, const Scenario& current);

// Throws WorkloadMismatch when a scenario on both sides ran different workloads
// (unless options.allow_different_workload).
Comparison compare_results(const RunResults& base, const RunResults& current, const std::vector<MetricPolicy>& policies,
                           const CompareOptions& options = {});

}  // namespace aiway
