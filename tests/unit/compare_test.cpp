#include <gtest/gtest.h>

#include "compare/mann_whitney.hpp"
#include "results/pool.hpp"
#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "aiway/scenario_file.hpp"
#include "compare/verdict.hpp"

#include <algorithm>
#include "results/results_json.hpp"

namespace aiway {
namespace {

// Reference p-values: scipy.stats.mannwhitneyu(x, y, alternative="two-sided",
// method="exact") from scipy 1.10.1; the first and fourth are also the exact
// table values 2/C(10,5) = 2/252 and 2/C(6,3) = 2/20.
TEST(MannWhitney, ExactSmallSamplesMatchReferenceValues) {
  struct Case {
    std::vector<double> x, y;
    double u, p;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, 0, 0.007936507936507936},
      {{1, 3, 5, 7, 9}, {2, 4, 6, 8, 10}, 10, 0.6904761904761905},
      {{1.1, 2.2, 3.3, 4.4}, {5.5, 6.6, 7.7, 8.8, 9.9, 10.1}, 0, 0.009523809523809525},
      {{1, 2, 3}, {4, 5, 6}, 0, 0.1},
      {{19, 22, 16, 29, 24}, {20, 11, 17, 12}, 17, 0.1111111111111111},
      {{10, 20, 30, 40, 50, 60, 70, 80, 90}, {15, 25, 35, 45, 55, 65, 75, 85, 95}, 36, 0.7304401480872068},
  };
  for (const auto& c : cases) {
    const auto r = mann_whitney_u(c.x, c.y);
    EXPECT_TRUE(r.exact);
    EXPECT_DOUBLE_EQ(r.u, c.u);
    EXPECT_NEAR(r.p_value, c.p, 1e-12);
  }
}

TEST(MannWhitney, TiesUseTheCorrectedNormalApproximation) {
  // scipy ... method="asymptotic", use_continuity=True: U = 139.5, p = 3.4687167145274976e-06.
  std::vector<double> x, y;
  for (int k = 0; k < 3; ++k) {
    for (double v : {1, 2, 2, 3, 3, 3, 4, 4, 5, 6}) x.push_back(v);
    for (double v : {3, 4, 4, 5, 5, 6, 6, 7, 7, 8}) y.push_back(v);
  }
  const auto r = mann_whitney_u(x, y);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 139.5);
  EXPECT_NEAR(r.p_value, 3.4687167145274976e-06, 1e-12);
}

// scipy.stats.mannwhitneyu(x, y, alternative="greater" / "less", method="exact"
// or "asymptotic" with use_continuity=True), scipy 1.10.1.
TEST(MannWhitney, OneSidedPValuesMatchScipy) {
  struct Case {
    std::vector<double> x, y;
    double greater, less;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, 0.9999999999999998, 0.003968253968253968},
      {{19, 22, 16, 29, 24}, {20, 11, 17, 12}, 0.05555555555555555, 0.9682539682539684},
      {{1, 3, 5, 7, 9}, {2, 4, 6, 8, 10}, 0.726190476190476, 0.34523809523809523},
  };
  for (const auto& c : cases) {
    const auto r = mann_whitney_u(c.x, c.y);
    EXPECT_NEAR(r.p_greater, c.greater, 1e-12);
    EXPECT_NEAR(r.p_less, c.less, 1e-12);
  }
  std::vector<double> x, y;
  for (int k = 0; k < 3; ++k) {
    for (double v : {1, 2, 2, 3, 3, 3, 4, 4, 5, 6}) x.push_back(v);
    for (double v : {3, 4, 4, 5, 5, 6, 6, 7, 7, 8}) y.push_back(v);
  }
  const auto r = mann_whitney_u(x, y);
  EXPECT_NEAR(r.p_greater, 0.9999983870368078, 1e-12);
  EXPECT_NEAR(r.p_less, 1.7343583572637488e-06, 1e-12);
}

TEST(MannWhitney, IdenticalSamplesGiveNoEvidence) {
  EXPECT_DOUBLE_EQ(mann_whitney_u({5, 5, 5}, {5, 5, 5}).p_value, 1.0);
}

TEST(MannWhitney, SmallestPossibleP) {
  EXPECT_NEAR(smallest_possible_p(5, 5), 2.0 / 252, 1e-15);
  EXPECT_NEAR(smallest_possible_p(3, 3), 0.1, 1e-15);  // three repetitions a side can never reach 0.05
  EXPECT_NEAR(smallest_one_sided_p(5, 5), 1.0 / 252, 1e-15);
  EXPECT_NEAR(smallest_one_sided_p(3, 3), 0.05, 1e-15);
}

TEST(BenjaminiHochberg, AdjustsAsStatsmodelsDoes) {
  // statsmodels 0.13.5: multipletests([0.01, 0.04, 0.03, 0.005, 0.5], method="fdr_bh")[1]
  const auto adjusted = benjamini_hochberg_adjust({0.01, 0.04, 0.03, 0.005, 0.5});
  const std::vector<double> expected = {0.025, 0.05, 0.05, 0.025, 0.5};
  ASSERT_EQ(adjusted.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(adjusted[i], expected[i], 1e-15) << i;
  EXPECT_TRUE(benjamini_hochberg_adjust({}).empty());
}

TEST(Holm, AdjustsAsTheStepDownProcedureDefines) {
  // statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="holm")[1]
  // = [0.03, 0.06, 0.06, 0.02]: sorted, p_(k) * (m - k + 1), made monotone.
  const auto adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005});
  const std::vector<double> expected = {0.03, 0.06, 0.06, 0.02};
  ASSERT_EQ(adjusted.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(adjusted[i], expected[i], 1e-15) << i;
  EXPECT_EQ(holm_adjust({0.5, 0.9}), (std::vector<double>{1.0, 1.0}));  // capped at 1
  EXPECT_TRUE(holm_adjust({}).empty());
}

TEST(CompareResults, ManyMetricsShareOneFamilyWiseLevel) {
  // 40 scenarios, each with a throughput that differs only by noise (p ~ 0.03
  // on its own, beyond the 5 % threshold): uncorrected, most would be called
  // regressions; over the family, none is.
  RunResults base, now;
  for (auto* r : {&base, &now}) {
    r->machine.fingerprint = "m";
    r->method.processes = 9;
  }
  for (int k = 0; k < 40; ++k) {
    ScenarioResult b, n;
    b.scenario.name = n.scenario.name = "s" + std::to_string(k);
    const std::vector<double> before = {100, 104, 96, 102, 98, 110, 90, 101, 99};
    const std::vector<double> after = {92, 96, 88, 94, 90, 101, 84, 93, 91};
    for (std::size_t i = 0; i < before.size(); ++i) {
      Repetition rb, rn;
      rb.metrics.set("throughput_tps", before[i]);
      rn.metrics.set("throughput_tps", after[i]);
      b.repetitions.push_back(rb);
      n.repetitions.push_back(rn);
    }
    base.scenarios.push_back(b);
    now.scenarios.push_back(n);
  }
  const Comparison c = compare_results(base, now, default_policies());
  const MetricComparison& first = c.scenarios[0].metrics[0];
  EXPECT_LT(first.p_harm, 0.05) << "significant on its own";
  EXPECT_EQ(first.family, 40u);
  EXPECT_GT(first.p_adjusted, 0.05);
  EXPECT_FALSE(c.regressed());
  EXPECT_EQ(first.verdict, Verdict::inconclusive) << first.reason;
  // The same change in one scenario alone is a regression.
  base.scenarios.resize(1);
  now.scenarios.resize(1);
  EXPECT_TRUE(compare_results(base, now, default_policies()).regressed());
}

TEST(Bootstrap, DegenerateSamplesGiveExactIntervals) {
  const auto same = bootstrap_median_change({10, 10, 10}, {10, 10, 10});
  EXPECT_DOUBLE_EQ(same.low, 0);
  EXPECT_DOUBLE_EQ(same.high, 0);
  const auto doubled = bootstrap_median_change({10, 10, 10, 10}, {20, 20, 20});
  EXPECT_DOUBLE_EQ(doubled.low, 1.0);
  EXPECT_DOUBLE_EQ(doubled.high, 1.0);
}

TEST(Bootstrap, IntervalBracketsTheChangeAndIsReproducible) {
  const std::vector<double> base = {100, 102, 98, 101, 99, 103, 97};
  const std::vector<double> slower = {90, 92, 88, 91, 89, 93, 87};
  const auto ci = bootstrap_median_change(base, slower);
  EXPECT_LT(ci.low, -0.09);  // the change of medians is 90 / 100 - 1 = -10 %
  EXPECT_GT(ci.high, -0.11);
  EXPECT_LT(ci.high, 0);  // and it excludes no change
  const auto again = bootstrap_median_change(base, slower);
  EXPECT_EQ(ci.low, again.low);
  EXPECT_EQ(ci.high, again.high);
}

TEST(Verdict, RegressionNeedsSignificanceAndSize) {
  const MetricPolicy throughput{"throughput_tps", true, 0.05};
  const std::vector<double> base = {100, 101, 99, 100.5, 99.5};
  EXPECT_EQ(verdict_for(throughput, base, {80, 81, 79, 80.5, 79.5}).verdict, Verdict::regressed);
  EXPECT_EQ(verdict_for(throughput, base, {120, 121, 119, 120.5, 119.5}).verdict, Verdict::improved);
  // Significant but small: unchanged.
  EXPECT_EQ(verdict_for(throughput, base, {98, 98.1, 97.9, 98.2, 97.8}).verdict, Verdict::unchanged);
  // Large but noisy: inconclusive, not regressed.
  EXPECT_EQ(verdict_for(throughput, base, {50, 150, 60, 140, 90}).verdict, Verdict::inconclusive);
  // Direction: latency going up is the regression.
  EXPECT_EQ(verdict_for({"latency_p99_us", false, 0.10}, base, {150, 151, 149, 150.5, 149.5}).verdict, Verdict::regressed);
}

// Three repetitions a side: the one-sided U test can reach p = 0.05 at best,
// never below it, so the separation rule decides. Worked by hand below.
TEST(Verdict, SeparationRuleDecidesWhereTheTestCannot) {
  const MetricPolicy throughput{"throughput_tps", true, 0.05};
  // Base 99, 100, 101: median 100, MAD 1, robust spread 1.4826, 3x = 4.45.
  // New 49, 50, 51: all below 99; pairwise differences -52..-48, median -50.
  // |-50| > 5 % of 100 and > 4.45: regressed, by the separation rule.
  const auto slow = verdict_for(throughput, {100, 101, 99}, {50, 51, 49});
  EXPECT_EQ(slow.rule, Rule::separation);
  EXPECT_DOUBLE_EQ(slow.hl_shift, -50);
  EXPECT_EQ(slow.verdict, Verdict::regressed) << slow.reason;
  EXPECT_EQ(verdict_for(throughput, {100, 101, 99}, {150, 151, 149}).verdict, Verdict::improved);
  // Base 90, 100, 110: MAD 10, spread 14.826, 3x = 44.5. New 70, 75, 80: all
  // below 90, and the nine differences -40 -35 -30 -30 -25 -20 -20 -15 -10
  // have median -25: beyond 5 % but within 3x the spread: inconclusive.
  const auto noisy = verdict_for(throughput, {100, 110, 90}, {70, 75, 80});
  EXPECT_DOUBLE_EQ(noisy.hl_shift, -25);
  EXPECT_EQ(noisy.verdict, Verdict::inconclusive) << noisy.reason;
  // Overlapping samples never separate: inconclusive, however large the median change.
  EXPECT_EQ(verdict_for(throughput, {100, 101, 99}, {50, 51, 100.5}).verdict, Verdict::inconclusive);
  // Fewer than three a side: no spread to judge by, no rule can decide.
  EXPECT_EQ(verdict_for(throughput, {100}, {50}).verdict, Verdict::inconclusive);
  EXPECT_EQ(verdict_for(throughput, {100, 101}, {50, 51}).verdict, Verdict::inconclusive);
}

TEST(Verdict, FiveAgainstFiveDecidesWithTheOneSidedTest) {
  // The case a two-sided test Holm-adjusted over 14 metrics could never
  // decide: 5 vs 5, completely separated, -92 %.
  const MetricPolicy throughput{"throughput_tps", true, 0.05};
  const auto c = verdict_for(throughput, {11.2, 11.1, 11.3, 11.0, 11.4}, {0.88, 0.89, 0.87, 0.9, 0.86});
  EXPECT_EQ(c.rule, Rule::u_test);
  EXPECT_NEAR(c.p_harm, 1.0 / 252, 1e-12);
  EXPECT_EQ(c.verdict, Verdict::regressed) << c.reason;
}

TEST(Verdict, SmallestDetectableChangeReflectsThresholdAndNoise) {
  const MetricPolicy throughput{"throughput_tps", true, 0.05};
  const std::vector<double> base = {100, 101, 99, 100.5, 99.5};
  // Quiet: anything just past the 5 % threshold separates the samples.
  const double quiet = verdict_for(throughput, base, base).detectable;
  EXPECT_GT(quiet, 0.05);
  EXPECT_LT(quiet, 0.07);
  // Noisy: the samples must move further apart before they separate.
  const std::vector<double> noisy = {80, 120, 90, 110, 100};
  // ({80..120} x 0.82 first falls far enough below the base for p < 0.05.)
  EXPECT_GT(verdict_for(throughput, noisy, noisy).detectable, 0.15);
}

TEST(Verdict, RssChangesBelowTheFloorNeverMatter) {
  const auto policies = default_policies();
  const auto rss = *std::find_if(policies.begin(), policies.end(), [](const auto& p) { return p.metric == "rss_growth_bytes"; });
  const double mib = 1024.0 * 1024.0;
  // +80 % but only 4 MiB: allocator noise, not a regression.
  EXPECT_EQ(verdict_for(rss, {5 * mib, 5 * mib, 5 * mib, 5 * mib, 5 * mib}, {9 * mib, 9 * mib, 9 * mib, 9 * mib, 9 * mib}).verdict,
            Verdict::unchanged);
  EXPECT_EQ(verdict_for(rss, {50 * mib, 51 * mib, 50 * mib, 52 * mib, 50 * mib}, {90 * mib, 91 * mib, 90 * mib, 92 * mib, 90 * mib}).verdict,
            Verdict::regressed);
}

TEST(CompareResults, OneSidedScenariosAndMetricsAreReported) {
  auto results = [](std::vector<std::pair<std::string, std::vector<double>>> scenarios, const char* extra) {
    RunResults r;
    r.machine.fingerprint = "m";
    for (const auto& [name, tps] : scenarios) {
      ScenarioResult s;
      s.scenario.name = name;
      for (double v : tps) {
        Repetition rep;
        rep.metrics.set("throughput_tps", v);
        if (extra) rep.metrics.set(extra, 1);
        s.repetitions.push_back(rep);
      }
      r.scenarios.push_back(s);
    }
    return r;
  };
  const auto base = results({{"a", {1, 2, 3, 4, 5}}, {"gone", {1, 1, 1, 1, 1}}}, "cpu_share");
  const auto now = results({{"a", {1, 2, 3, 4, 5}}, {"added", {1, 1, 1, 1, 1}}}, nullptr);
  const Comparison c = compare_results(base, now, default_policies());
  EXPECT_EQ(c.scenarios_only_in_base, std::vector<std::string>{"gone"});
  EXPECT_EQ(c.scenarios_only_in_new, std::vector<std::string>{"added"});
  ASSERT_EQ(c.scenarios.size(), 1u);
  EXPECT_EQ(c.scenarios[0].only_in_base, std::vector<std::string>{"cpu_share"});
  EXPECT_FALSE(c.regressed());
}

RunResults machine_results(const char* fingerprint, std::optional<double> score, std::vector<double> tps,
                           std::vector<double> rss) {
  RunResults r;
  r.machine.fingerprint = fingerprint;
  r.machine.logical_cpus = 2;
  if (score) r.machine.calibration = Calibration{*score, 1, 1, 1, 0, std::nullopt};
  r.method.processes = 5;
  ScenarioResult s;
  s.scenario.name = "a";
  for (std::size_t i = 0; i < tps.size(); ++i) {
    Repetition rep;
    rep.metrics.set("throughput_tps", tps[i]);
    rep.metrics.set("rss_growth_bytes", rss[i]);
    s.repetitions.push_back(rep);
  }
  r.scenarios.push_back(s);
  return r;
}

TEST(CompareResults, CalibrationNormalisesFiguresOfSpeedAcrossMachines) {
  const std::vector<double> rss(6, 1e6);
  // The new machine scores 2x and delivers 1.92x: as the base machine would show it, 4 % slower.
  const std::vector<double> tps_base = {100, 101, 99, 100, 102, 98};
  std::vector<double> tps_fast;
  for (double v : tps_base) tps_fast.push_back(v * 1.92);
  const auto base = machine_results("slow", 1.0, tps_base, rss);
  const auto fast = machine_results("fast", 2.0, tps_fast, rss);
  const Comparison c = compare_results(base, fast, default_policies());
  ASSERT_TRUE(c.speed_ratio.has_value());
  EXPECT_DOUBLE_EQ(*c.speed_ratio, 2.0);
  EXPECT_FALSE(c.same_machine);
  const MetricComparison& tps = c.scenarios[0].metrics[0];
  ASSERT_EQ(tps.metric, "throughput_tps");
  EXPECT_TRUE(tps.normalised);
  EXPECT_NEAR(tps.raw_change, 0.92, 1e-9);
  EXPECT_NEAR(tps.change, -0.04, 1e-9);
  EXPECT_EQ(tps.verdict, Verdict::unchanged) << tps.reason;  // significant, but within the 5 % threshold
  const MetricComparison& rss_change = c.scenarios[0].metrics[1];
  EXPECT_FALSE(rss_change.normalised) << "memory is not a figure of speed";
  // Without a score on one side nothing is normalised: the raw figures are judged.
  const Comparison raw = compare_results(base, machine_results("fast", std::nullopt, tps_fast, rss),
                                         default_policies());
  EXPECT_FALSE(raw.speed_ratio.has_value());
  EXPECT_EQ(raw.scenarios[0].metrics[0].verdict, Verdict::improved);
  EXPECT_TRUE(c.method_notes.empty());
  // A calibration that other work disturbed scores low: the normalisation says it is uncertain.
  auto busy_base = base;
  busy_base.machine.calibration->foreign_cpu_share = 0.4;
  const auto notes = compare_results(busy_base, fast, default_policies()).method_notes;
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("the base machine was calibrated while other work used 40 % of its CPU"), std::string::npos)
      << notes[0];
  // Same machine: never normalised, even with scores.
  EXPECT_FALSE(compare_results(base, machine_results("slow", 1.1, {100, 100, 100, 100, 100, 100}, rss),
                               default_policies()).speed_ratio.has_value());
}

TEST(CompareResults, OneProcessRepetitionsAreNoted) {
  const std::vector<double> v(5, 1.0);
  auto base = machine_results("m", std::nullopt, v, v);
  auto now = base;
  EXPECT_TRUE(compare_results(base, now, default_policies()).method_notes.empty());
  now.method.processes = 1;
  const auto notes = compare_results(base, now, default_policies()).method_notes;
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("the new results took every repetition in one process"), std::string::npos);
}

// Sets other work's share of the machine's CPU in each repetition.
void set_foreign_cpu(RunResults& r, double share) {
  for (auto& rep : r.scenarios[0].repetitions) rep.metrics.set("foreign_cpu_share", share);
}

TEST(Disturbance, OverTheScenariosLimit) {
  Scenario s;  // measure.max_foreign_cpu = 0.10 by default
  Repetition rep;
  EXPECT_FALSE(disturbed_share(s, rep)) << "not measured: not disturbed";
  rep.metrics.set("foreign_cpu_share", 0.10);
  EXPECT_FALSE(disturbed_share(s, rep)) << "at the limit is within it";
  rep.metrics.set("foreign_cpu_share", 0.45);
  ASSERT_TRUE(disturbed_share(s, rep));
  EXPECT_DOUBLE_EQ(*disturbed_share(s, rep), 0.45);
  s.measure.max_foreign_cpu = 0.5;
  EXPECT_FALSE(disturbed_share(s, rep));
  s.measure.max_foreign_cpu = 0;
  EXPECT_FALSE(disturbed_share(s, rep)) << "0 switches the check off";

  ScenarioResult r;
  r.disturbed_reruns = {0.5, 0.6, 0.4};
  for (double share : {0.05, 0.3, 0.51}) {
    Repetition k;
    k.metrics.set("foreign_cpu_share", share);
    r.repetitions.push_back(k);
  }
  const Disturbance d = disturbance_of(r);
  EXPECT_EQ(d.disturbed, 2u);
  EXPECT_EQ(d.repetitions, 3u);
  EXPECT_EQ(d.reruns, 3u);
  EXPECT_DOUBLE_EQ(d.max_share, 0.51);
  EXPECT_EQ(describe_disturbed(d),
            "2 of 3 repetitions ran while other work used up to 51 % of the machine's CPU (limit 10 %, after 3 re-runs)");
  EXPECT_EQ(describe_disturbed(Disturbance{}), "");
}

TEST(CompareResults, ABusyMachineMakesChangesInconclusiveNotRegressed) {
  const std::vector<double> rss(9, 1e6);
  const std::vector<double> tps_base = {100, 101, 99, 100, 102, 98, 100, 101, 99};
  std::vector<double> tps_slow;
  for (double v : tps_base) tps_slow.push_back(v / 2);  // what a competing busy core did to run 1
  const auto base = machine_results("m", std::nullopt, tps_base, rss);
  auto slow = machine_results("m", std::nullopt, tps_slow, rss);
  set_foreign_cpu(slow, 0.02);  // a quiet machine: the halving is the build's
  EXPECT_EQ(compare_results(base, slow, default_policies()).scenarios[0].metrics[0].verdict, Verdict::regressed);

  set_foreign_cpu(slow, 0.48);
  const Comparison c = compare_results(base, slow, default_policies());
  const MetricComparison& tps = c.scenarios[0].metrics[0];
  EXPECT_EQ(tps.verdict, Verdict::inconclusive);
  EXPECT_NE(tps.reason.find("-50.0 %, but 9 of 9 repetitions ran while other work used up to 48 %"), std::string::npos)
      << tps.reason;
  EXPECT_FALSE(c.regressed());
  ASSERT_EQ(c.scenarios[0].disturbed.size(), 1u);
  EXPECT_NE(c.scenarios[0].disturbed[0].find("in the new results"), std::string::npos);
  ASSERT_EQ(c.method_notes.size(), 1u);
  EXPECT_NE(c.method_notes[0].find("a busier machine cannot be told from a slower build"), std::string::npos);

  // The same holds with the sides swapped (a busy base makes the new build look faster).
  const Comparison swapped = compare_results(slow, base, default_policies());
  EXPECT_EQ(swapped.scenarios[0].metrics[0].verdict, Verdict::inconclusive);
  EXPECT_NE(swapped.scenarios[0].disturbed[0].find("in the base results"), std::string::npos);
}

TEST(Disturbance, ExplainsAtMostTheFairShareLostTimesTheMargin) {
  EXPECT_DOUBLE_EQ(explainable_slowdown(0), kSchedulingMargin);
  EXPECT_DOUBLE_EQ(explainable_slowdown(0.5), 2 * kSchedulingMargin);
  EXPECT_DOUBLE_EQ(explainable_slowdown(0.75), 4 * kSchedulingMargin);
  EXPECT_TRUE(std::isinf(explainable_slowdown(1))) << "a machine wholly busy with other work explains anything";

  ScenarioResult r;
  for (const auto& [tps, share] : {std::pair{100.0, 0.05}, std::pair{40.0, 0.5}, std::pair{30.0, 0.75}}) {
    Repetition rep;
    rep.metrics.set("throughput_tps", tps);
    rep.metrics.set("foreign_cpu_share", share);
    r.repetitions.push_back(rep);
  }
  EXPECT_EQ(undisturbed_rate_bounds(r, "throughput_tps"),
            (std::vector<double>{100, 40 * 2 * kSchedulingMargin, 30 * 4 * kSchedulingMargin}))
      << "an undisturbed repetition keeps its value";
}

// A busy machine cannot hide a slowdown larger than it can cause: other work
// at half the CPU explains a rate's fall to 1 / (2 x margin), not to a tenth.
TEST(CompareResults, ASlowdownBeyondWhatTheLoadExplainsIsRegressedOnABusyMachine) {
  const std::vector<double> rss(9, 1e6);
  const std::vector<double> tps_base = {100, 101, 99, 100, 102, 98, 100, 101, 99};
  std::vector<double> tps_tenth;
  for (double v : tps_base) tps_tenth.push_back(v / 10);
  const auto base = machine_results("m", std::nullopt, tps_base, rss);
  auto slow = machine_results("m", std::nullopt, tps_tenth, rss);
  set_foreign_cpu(slow, 0.48);
  const Comparison c = compare_results(base, slow, default_policies());
  const MetricComparison& tps = c.scenarios[0].metrics[0];
  EXPECT_EQ(tps.verdict, Verdict::regressed) << tps.reason;
  EXPECT_NE(tps.reason.find("more than other work can explain"), std::string::npos) << tps.reason;
  EXPECT_TRUE(c.regressed());

  // The same tenth at 95 % other work: that much load explains it.
  set_foreign_cpu(slow, 0.95);
  EXPECT_EQ(compare_results(base, slow, default_policies()).scenarios[0].metrics[0].verdict, Verdict::inconclusive);

  // An improvement is credited on the base: a busy base at a tenth, a quiet new one.
  auto busy_base = machine_results("m", std::nullopt, tps_tenth, rss);
  set_foreign_cpu(busy_base, 0.48);
  const auto quiet = machine_results("m", std::nullopt, tps_base, rss);
  EXPECT_EQ(compare_results(busy_base, quiet, default_policies()).scenarios[0].metrics[0].verdict, Verdict::improved);
}

TEST(CompareResults, OnlyRatesAreCreditedALatencyOnABusyMachineStaysInconclusive) {
  // One preemption of a few ms makes a p99 of microseconds a thousand times
  // larger: no share of other work bounds it, so it is never credited.
  const std::vector<double> rss(9, 1e6);
  const std::vector<double> tps(9, 100);
  auto base = machine_results("m", std::nullopt, tps, rss);
  auto busy = machine_results("m", std::nullopt, tps, rss);
  for (std::size_t i = 0; i < 9; ++i) {
    base.scenarios[0].repetitions[i].metrics.set("latency_p99_us", 10 + double(i) / 10);
    busy.scenarios[0].repetitions[i].metrics.set("latency_p99_us", 10000 + double(i));
  }
  set_foreign_cpu(busy, 0.2);
  const Comparison c = compare_results(base, busy, default_policies());
  bool seen = false;
  for (const auto& m : c.scenarios[0].metrics)
    if (m.metric == "latency_p99_us") {
      seen = true;
      EXPECT_EQ(m.verdict, Verdict::inconclusive) << m.reason;
    }
  EXPECT_TRUE(seen);
}

TEST(PoolRuns, RepetitionsOfEveryRunSummarisedTogether) {
  RunResults a = machine_results("m", 1.0, {10, 11}, {1, 1});
  RunResults b = machine_results("m", 3.0, {20, 21, 22}, {1, 1, 1});
  RunResults c = machine_results("m", 2.0, {30}, {1});
  b.scenarios[0].disturbed_reruns = {0.4};
  ScenarioResult only_b;
  only_b.scenario.name = "only-b";
  b.scenarios.push_back(only_b);
  a.scenarios[0].thresholds.push_back({"throughput_tps", ">=", 1, "median", 10.5, true});
  const RunResults pooled = pool_runs({a, b, c}, {"a.json", "b.json", "c.json"});
  ASSERT_EQ(pooled.scenarios.size(), 2u);
  const ScenarioResult& s = pooled.scenarios[0];
  EXPECT_EQ(metric_values(s.repetitions, "throughput_tps"), (std::vector<double>{10, 11, 20, 21, 22, 30}));
  EXPECT_EQ(s.disturbed_reruns, std::vector<double>{0.4});
  EXPECT_DOUBLE_EQ(summary_median(s, "throughput_tps"), 20.5) << "summaries recomputed over all runs";
  EXPECT_TRUE(s.thresholds.empty()) << "a threshold judged one run";
  EXPECT_EQ(pooled.scenarios[1].scenario.name, "only-b");
  EXPECT_EQ(pooled.method.processes, 15u);
  ASSERT_TRUE(pooled.machine.calibration.has_value());
  EXPECT_DOUBLE_EQ(pooled.machine.calibration->score, 2.0) << "the run with the median score";

  RunResults other = machine_results("other", 1.0, {1}, {1});
  EXPECT_THROW(pool_runs({a, other}, {"a.json", "other.json"}), InputError);
  RunResults bigger = machine_results("m", 1.0, {1}, {1});
  bigger.scenarios[0].scenario.backend.messages = 5;
  try {
    pool_runs({a, bigger}, {"a.json", "bigger.json"});
    ADD_FAILURE() << "two workloads pooled";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("scenario a ran with another backend.messages than in a.json"), std::string::npos)
        << e.what();
  }
  RunResults more_reps = machine_results("m", 1.0, {1, 2, 3}, {1, 1, 1});
  more_reps.scenarios[0].scenario.repetitions = 3;
  EXPECT_NO_THROW(pool_runs({a, more_reps}, {"a.json", "more.json"})) << "repetitions may differ";
  RunResults interrupted = a;
  interrupted.interrupted = true;
  EXPECT_THROW(pool_runs({a, interrupted}, {"a.json", "i.json"}), InputError);
}

TEST(ResultsLoader, RoundTripsMethodCalibrationSpectraAndTimelines) {
  RunResults r = machine_results("m", 1.25, {1, 2}, {3, 4});
  r.machine.calibration->spread = 0.03;
  r.machine.calibration->foreign_cpu_share = 0.015;
  r.machine.calibration->raw_hop_short_tokens_per_s = 4.2e7;
  r.machine.calibration->raw_hop_medium_tokens_per_s = 2.1e7;
  r.machine.memory_bytes = 24ll << 30;
  r.machine.governor = "performance";
  r.machine.load_avg = {0.5, 0.25, 0.1};
  r.machine.caches = {{"Data", 1, 32768, 2}};
  r.method = {4, true};
  r.scenarios[0].repetitions[0].latency_spectrum = {{12.5, 0.5, 10}, {99, 1.0, 20}};
  r.scenarios[0].repetitions[1].rss_timeline = {{0.1, 1000}, {0.2, 2000}};
  r.scenarios[0].failure = "repetition 2: timeout";
  r.scenarios[0].disturbed_reruns = {0.42, 0.5};
  r.scenarios[0].scenario.measure.max_foreign_cpu = 0.25;
  r.scenarios[0].scenario.description = "quotes \" and a \\ survive";
  r.scenarios[0].scenario.backend.messages = 12345;
  r.scenarios[0].scenario.channel.overflow = Overflow::drop_newest;
  r.scenarios[0].scenario.expect.max_latency_p99_ms = 2.5;
  r.scenarios[0].scenario.compare["throughput_tps"] = 0.03;
  const RunResults back = results_from_json_text(results_to_json(r).dump(), "mem");
  EXPECT_EQ(back.scenarios[0].disturbed_reruns, (std::vector<double>{0.42, 0.5}));
  EXPECT_DOUBLE_EQ(back.scenarios[0].scenario.measure.max_foreign_cpu, 0.25) << "the limit its repetitions were judged by";
  EXPECT_EQ(scenario_fields(back.scenarios[0].scenario), scenario_fields(r.scenarios[0].scenario)) << "every field of config";
  EXPECT_EQ(back.method.processes, 4u);
  EXPECT_TRUE(back.method.interleave);
  ASSERT_TRUE(back.machine.calibration.has_value());
  EXPECT_DOUBLE_EQ(back.machine.calibration->score, 1.25);
  EXPECT_DOUBLE_EQ(back.machine.calibration->spread, 0.03);
  EXPECT_EQ(back.machine.calibration->foreign_cpu_share, 0.015);
  EXPECT_DOUBLE_EQ(back.machine.calibration->raw_hop_short_tokens_per_s, 4.2e7);
  EXPECT_DOUBLE_EQ(back.machine.calibration->raw_hop_medium_tokens_per_s, 2.1e7);
  EXPECT_EQ(back.machine.memory_bytes, 24ll << 30) << "a pooled baseline keeps the machine's description";
  EXPECT_EQ(back.machine.governor, "performance");
  EXPECT_EQ(back.machine.load_avg, (std::vector<double>{0.5, 0.25, 0.1}));
  ASSERT_EQ(back.machine.caches.size(), 1u);
  EXPECT_EQ(back.machine.caches[0].size_bytes, 32768);
  ASSERT_EQ(back.scenarios[0].repetitions[0].latency_spectrum.size(), 2u);
  EXPECT_DOUBLE_EQ(back.scenarios[0].repetitions[0].latency_spectrum[1].value_us, 99);
  EXPECT_EQ(back.scenarios[0].repetitions[0].latency_spectrum[1].total_count, 20);
  ASSERT_EQ(back.scenarios[0].repetitions[1].rss_timeline.size(), 2u);
  EXPECT_EQ(back.scenarios[0].repetitions[1].rss_timeline[1].rss_bytes, 2000);
  EXPECT_EQ(back.scenarios[0].failure, "repetition 2: timeout");
  // Summaries are derived: recomputed on load, so reports of a loaded file have medians.
  ASSERT_NE(find_summary(back.scenarios[0], "throughput_tps"), nullptr);
  EXPECT_DOUBLE_EQ(summary_median(back.scenarios[0], "throughput_tps"), 1.5);
}

TEST(ResultsLoader, ClearErrorsForBadFiles) {
  auto error = [](const std::string& text) {
    try {
      results_from_json_text(text, "r.json");
    } catch (const ResultsError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error("{\"schema\": \"aiway-stress/results/v1\", \"tool\": {"), "r.json: not valid JSON (byte 48): truncated or not a results file");
  EXPECT_EQ(error("{\"schema\": \"aiway-stress/results/v9\"}"),
            "r.json: schema: \"aiway-stress/results/v9\" is not a schema this version reads (aiway-stress/results/v1)");
  EXPECT_EQ(error("{\"schema\": \"aiway-stress/results/v1\"}"), "r.json: tool: missing");
  EXPECT_EQ(error("[]"), "r.json: schema: missing");
  // Found by the results fuzzer: a number too large for a double threw an
  // exception nobody caught.
  EXPECT_EQ(error("{\"schema\": 9" + std::string(400, '9') + "}").rfind("r.json: not a results file:", 0), 0u);
}

}  // namespace
}  // namespace aiway

namespace aiway {
namespace {

TEST(ComparePolicies, EveryGatedMetricHasAScenarioCompareField) {
  std::vector<std::string> keys;
  for (const Field& f : scenario_fields(Scenario{}))
    if (f.section == "compare" && f.key != "gating") keys.push_back(f.key);
  for (const auto& p : default_policies())
    EXPECT_NE(std::find(keys.begin(), keys.end(), p.metric), keys.end()) << p.metric << " has no [compare] field";
  EXPECT_EQ(keys.size(), default_policies().size());
}

TEST(Gating, DefaultFamilyFollowsTheScenario) {
  EXPECT_EQ(gating_metrics(parse_scenario("name = \"x\"\n", "x.toml")),
            (std::vector<std::string>{"throughput_tps", "latency_p99_us", "instructions_per_token_backend",
                                      "instructions_per_token_conductor", "instructions_per_token_surface"}));
  EXPECT_EQ(gating_metrics(parse_scenario("[backend]\nrate_tps = 1000\n[control]\nquit_at = 0.5\n"
                                          "[surface_channel]\noverflow = \"drop-newest\"\n", "x.toml")),
            (std::vector<std::string>{"throughput_tps", "latency_p99_us", "quit_latency_us", "cpu_share", "loss_ratio",
                                      "instructions_per_token_backend", "instructions_per_token_conductor",
                                      "instructions_per_token_surface"}));
  EXPECT_EQ(gating_metrics(parse_scenario("[compare]\ngating = \"cpu_share, rss_growth_bytes\"\n", "x.toml")),
            (std::vector<std::string>{"cpu_share", "rss_growth_bytes"}));
  try {
    gating_metrics(parse_scenario("[compare]\ngating = \"throughput_tps,nope\"\n", "x.toml"));
    FAIL() << "an unknown gating metric was accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "x.toml:2:1: compare.gating: nope is not a compared metric");
  }
}

RunResults one_scenario(const std::string& config_toml, std::vector<double> tps) {
  RunResults r;
  r.machine.fingerprint = "m";
  r.method.processes = 5;
  ScenarioResult s;
  s.scenario = parse_scenario(config_toml, "c.toml");
  s.scenario.name = "a";
  for (double v : tps) {
    Repetition rep;
    rep.metrics.set("throughput_tps", v);
    rep.metrics.set("cpu_surface_s", v);
    s.repetitions.push_back(rep);
  }
  r.scenarios.push_back(s);
  return r;
}

TEST(CompareResults, DifferentWorkloadsAreRefusedNamingTheField) {
  const auto base = one_scenario("[backend]\nmessages = 1000000\n", {1, 2, 3});
  const auto now = one_scenario("[backend]\nmessages = 20000\n", {1, 2, 3});
  try {
    compare_results(base, now, default_policies());
    FAIL() << "different workloads were compared";
  } catch (const WorkloadMismatch& e) {
    EXPECT_NE(std::string(e.what()).find("backend.messages: 1000000 vs 20000"), std::string::npos) << e.what();
  }
  CompareOptions allow;
  allow.allow_different_workload = true;
  const Comparison c = compare_results(base, now, default_policies(), allow);
  ASSERT_EQ(c.workload_notes.size(), 1u);
  EXPECT_NE(c.workload_notes[0].find("DIFFERENT WORKLOADS"), std::string::npos);
  // A stage's own setting is what an A/B changes: not a workload difference.
  EXPECT_TRUE(workload_differences(parse_scenario("[surface]\nwork_us = 1\n", "a"), parse_scenario("name = \"a\"\n", "a")).empty());
}

TEST(CompareResults, PacedThroughputIsNeverNormalisedByCalibration) {
  for (const bool paced : {false, true}) {
    const std::string config = paced ? "[backend]\nrate_tps = 1000\n" : "name = \"a\"\n";
    auto base = one_scenario(config, {100, 101, 99, 100.5, 99.5});
    auto now = one_scenario(config, {100, 101, 99, 100.5, 99.5});
    base.machine.fingerprint = "slow";
    base.machine.calibration = Calibration{1.0, 1, 1, 1, 0, std::nullopt};
    now.machine.calibration = Calibration{2.0, 1, 1, 1, 0, std::nullopt};
    const Comparison c = compare_results(base, now, default_policies());
    const auto& m = c.scenarios[0].metrics;
    const auto tps = std::find_if(m.begin(), m.end(), [](const auto& x) { return x.metric == "throughput_tps"; });
    const auto cpu = std::find_if(m.begin(), m.end(), [](const auto& x) { return x.metric == "cpu_surface_s"; });
    ASSERT_NE(tps, m.end());
    ASSERT_NE(cpu, m.end());
    EXPECT_EQ(tps->normalised, !paced);
    EXPECT_DOUBLE_EQ(tps->new_median, 100);  // always the measured figure
    EXPECT_DOUBLE_EQ(tps->new_median_judged, paced ? 100 : 50);
    EXPECT_TRUE(cpu->normalised);  // CPU time for the same work scales, paced or not
  }
}

TEST(CompareResults, HeadlineCountsVerdictsAndNamesRegressions) {
  const auto base = one_scenario("name = \"a\"\n", {100, 101, 99, 100.5, 99.5});
  const auto now = one_scenario("name = \"a\"\n", {50, 51, 49, 50.5, 49.5});
  const Comparison c = compare_results(base, now, default_policies());
  EXPECT_TRUE(c.regressed());
  // cpu_surface_s halves too (an advisory improvement): counted, never deciding.
  EXPECT_EQ(c.headline(), "1 regressed, 1 improved, 0 inconclusive, 0 unchanged; gating: 1 regressed, 0 improved, "
                          "0 inconclusive, 0 unchanged. Regression: a throughput_tps.");
}

TEST(ComparePolicies, ScenarioThresholdsApplyButTheCommandLineWins) {
  Scenario s = parse_scenario("name = \"x\"\n[compare]\nlatency_p99_us = 0.25\nthroughput_tps = 0.5\n", "x.toml");
  auto policies = default_policies();
  for (auto& p : policies)
    if (p.metric == "throughput_tps") {
      p.threshold = 0.01;
      p.from_command_line = true;
    }
  const auto applied = policies_for(policies, s);
  auto threshold = [&](const char* metric) {
    for (const auto& p : applied)
      if (p.metric == metric) return p.threshold;
    return -1.0;
  };
  EXPECT_DOUBLE_EQ(threshold("latency_p99_us"), 0.25);
  EXPECT_DOUBLE_EQ(threshold("throughput_tps"), 0.01);
  EXPECT_DOUBLE_EQ(threshold("cpu_share"), 0.10);
  // And a results file carries them back.
  RunResults r;
  r.machine.fingerprint = "m";
  r.machine.logical_cpus = 2;
  ScenarioResult sr;
  sr.scenario = s;
  r.scenarios.push_back(sr);
  const RunResults back = results_from_json_text(results_to_json(r).dump(), "mem");
  EXPECT_EQ(back.scenarios[0].scenario.compare["latency_p99_us"], 0.25);
}

}  // namespace
}  // namespace aiway

namespace aiway {
namespace {

MetricPolicy counted_policy() {
  for (const MetricPolicy& p : default_policies())
    if (p.metric == "instructions_per_token_conductor") return p;
  ADD_FAILURE() << "no policy for instructions_per_token_conductor";
  return {};
}

TEST(CountRule, DecidesOnCountsThatRepeatAndOnlyThen) {
  const MetricPolicy p = counted_policy();
  EXPECT_TRUE(p.counted);
  EXPECT_FALSE(p.scales_with_machine) << "a count is the same on a faster machine";
  EXPECT_DOUBLE_EQ(p.threshold, 0.01);
  const std::vector<double> base = {100.0, 100.0001, 99.9999};
  EXPECT_EQ(judge_counts(p, base, {101.5, 101.5001, 101.4999}, "base").verdict, Verdict::regressed);
  EXPECT_EQ(judge_counts(p, base, {98.5, 98.5, 98.5}, "base").verdict, Verdict::improved);
  EXPECT_EQ(judge_counts(p, base, {100.9, 100.9, 100.9}, "base").verdict, Verdict::unchanged) << "within 1 %";
  // One count a side: whether they repeat is not shown.
  const CountVerdict single = judge_counts(p, {100}, {105}, "base");
  EXPECT_EQ(single.verdict, Verdict::inconclusive);
  EXPECT_NE(single.reason.find("one count a side"), std::string::npos) << single.reason;
  // One side repeating is enough to know the spread.
  EXPECT_EQ(judge_counts(p, base, {105}, "base").verdict, Verdict::regressed);
  // Counts that move run to run (work that depends on timing) decide nothing: overlapping sides,
  // or a change no larger than a side's own spread.
  const CountVerdict moving = judge_counts(p, {100, 103}, {102, 104.5}, "base");
  EXPECT_EQ(moving.verdict, Verdict::inconclusive);
  EXPECT_NE(moving.reason.find("do not repeat"), std::string::npos) << moving.reason;
  EXPECT_EQ(judge_counts(p, {100, 101.9}, {102, 102}, "base").verdict, Verdict::inconclusive)
      << "separated, but by less than the base's own 1.9 % spread";
}

}  // namespace
}  // namespace aiway
