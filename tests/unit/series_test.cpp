#include "compare/series.hpp"

#include <gtest/gtest.h>

#include <random>

#include "compare/history_check.hpp"

namespace aiway {
namespace {

// scipy 1.10.1: scipy.stats.t.sf(t, df)
TEST(StudentT, SurvivalFunctionMatchesScipy) {
  EXPECT_NEAR(student_t_sf(2.0, 5), 0.05096973941492914, 1e-12);
  EXPECT_NEAR(student_t_sf(-1.3, 3.5), 0.863702292097815, 1e-12);
  EXPECT_NEAR(student_t_sf(0.5, 30), 0.31036150244256366, 1e-12);
  EXPECT_NEAR(student_t_sf(10, 2), 0.004926228511662846, 1e-12);
  EXPECT_DOUBLE_EQ(student_t_sf(0, 7), 0.5);
}

// scipy.stats.ttest_ind(a, b, equal_var=False)
TEST(Welch, MatchesScipy) {
  const auto r = welch_t_test({10.1, 9.8, 10.3, 10.0, 9.9}, {11.2, 11.0, 11.5, 10.9});
  EXPECT_NEAR(r.t, -7.161084030926609, 1e-10);
  EXPECT_NEAR(r.p_value, 0.0006168366521523858, 1e-10);
}

std::vector<double> noise(std::size_t n, double mean, double sd, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(ChangePoints, FindsAKnownStepAtItsFirstRun) {
  auto series = noise(30, 100, 1, 1);
  const auto after = noise(30, 92, 1, 2);
  series.insert(series.end(), after.begin(), after.end());
  const auto found = change_points(series);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].index, 30u);
  EXPECT_LT(found[0].p_value, 1e-10);
  EXPECT_NEAR(found[0].mean_after / found[0].mean_before, 0.92, 0.01);
}

TEST(ChangePoints, FindsTwoChangesAndTheirOrder) {
  auto series = noise(20, 100, 1, 3);
  for (double x : noise(20, 110, 1, 4)) series.push_back(x);
  for (double x : noise(20, 100, 1, 5)) series.push_back(x);
  const auto found = change_points(series);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].index, 20u);
  EXPECT_EQ(found[1].index, 40u);
}

TEST(ChangePoints, NoChangeInSeriesWithoutOne) {
  // 50 seeded series of 60 runs of pure noise: at p < 0.001 none should split.
  std::size_t false_changes = 0;
  for (std::uint64_t seed = 100; seed < 150; ++seed) false_changes += change_points(noise(60, 100, 3, seed)).size();
  EXPECT_EQ(false_changes, 0u);
  EXPECT_TRUE(change_points({}).empty());
  EXPECT_TRUE(change_points({1, 2, 3}).empty());
  EXPECT_TRUE(change_points(std::vector<double>(40, 7.0)).empty());
}

RunResults one_run(std::vector<double> tps) {
  RunResults r;
  ScenarioResult s;
  s.scenario.name = "a";
  for (double v : tps) {
    Repetition rep;
    rep.metrics.set("throughput_tps", v);
    s.repetitions.push_back(rep);
  }
  r.scenarios.push_back(s);
  return r;
}

TEST(HistoryCheck, JudgesAgainstThePredictionIntervalOfRecentRuns) {
  const std::vector<double> past = {100, 101, 99, 100.5, 99.5, 100.2, 99.8};
  const auto prior = [&](const std::string&, const std::string&) { return past; };
  // 10 % slower than runs that vary by 0.6 %: far outside the interval.
  const auto slow = check_against_history(one_run({90, 90.5, 89.5}), prior, default_policies());
  ASSERT_EQ(slow.verdicts.size(), 1u);
  EXPECT_EQ(slow.verdicts[0].verdict, Verdict::regressed) << slow.verdicts[0].reason;
  EXPECT_TRUE(slow.regressed());
  // Within the runs' own spread: unchanged.
  EXPECT_EQ(check_against_history(one_run({100.3}), prior, default_policies()).verdicts[0].verdict, Verdict::unchanged);
  // Faster: improved, never a regression.
  EXPECT_EQ(check_against_history(one_run({120}), prior, default_policies()).verdicts[0].verdict, Verdict::improved);
  // Too short a history decides nothing.
  const auto short_history = [](const std::string&, const std::string&) { return std::vector<double>{100, 101}; };
  const auto too_short = check_against_history(one_run({50}), short_history, default_policies());
  EXPECT_EQ(too_short.verdicts[0].verdict, Verdict::inconclusive);
  EXPECT_NE(too_short.headline().find("Too short a history to judge: 2 earlier runs of this machine, 3 needed"),
            std::string::npos) << too_short.headline();
  EXPECT_EQ(slow.headline().find("Too short"), std::string::npos) << slow.headline();
  // A noisy history: -10 % lies inside its interval.
  const auto noisy = [](const std::string&, const std::string&) { return std::vector<double>{100, 80, 120, 90, 110}; };
  EXPECT_EQ(check_against_history(one_run({90}), noisy, default_policies()).verdicts[0].verdict, Verdict::inconclusive);
}

// One pair, two ways of asking (compare against a baseline run, history
// check against a series of such runs): the same answer, busy or not.
TEST(HistoryCheck, AgreesWithCompareOnARunOtherWorkDisturbed) {
  const std::vector<double> past = {100, 101, 99, 100.5, 99.5, 100.2, 99.8};
  const auto prior = [&](const std::string&, const std::string&) { return past; };
  RunResults base = one_run(past);
  base.method.processes = 7;
  const auto disturbed_run = [](double tps, double foreign_share) {
    RunResults r = one_run({tps * 1.01, tps, tps * 0.99, tps * 1.005, tps * 0.995, tps * 1.002, tps * 0.998});
    r.method.processes = 7;
    for (auto& rep : r.scenarios[0].repetitions) rep.metrics.set("foreign_cpu_share", foreign_share);
    return r;
  };
  struct Case {
    double tps, foreign_share;
    Verdict expected;
  };
  for (const Case& c : {Case{50, 0.48, Verdict::inconclusive},  // half the CPU taken explains half the rate
                        Case{10, 0.48, Verdict::regressed},     // ... not a tenth
                        Case{10, 0.96, Verdict::inconclusive},  // nearly all of it does
                        Case{50, 0.02, Verdict::regressed}}) {  // a quiet machine explains nothing
    const RunResults now = disturbed_run(c.tps, c.foreign_share);
    const auto history = check_against_history(now, prior, default_policies());
    ASSERT_EQ(history.verdicts.size(), 1u);
    const Comparison comparison = compare_results(base, now, default_policies());
    EXPECT_EQ(history.verdicts[0].verdict, c.expected) << c.tps << " at " << c.foreign_share << ": " << history.verdicts[0].reason;
    EXPECT_EQ(comparison.scenarios[0].metrics[0].verdict, c.expected)
        << c.tps << " at " << c.foreign_share << ": " << comparison.scenarios[0].metrics[0].reason;
  }
}

TEST(CountSteps, AStepInACountIsAChangeAtOnceEvenTheLastRun) {
  const auto steps = count_steps({137.43, 137.43, 137.44, 139.45}, 0.01);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].index, 3u);
  EXPECT_EQ(steps[0].p_value, 0);
  EXPECT_NEAR(steps[0].mean_before, 137.4333, 1e-3);
  EXPECT_DOUBLE_EQ(steps[0].mean_after, 139.45);
  EXPECT_TRUE(count_steps({100, 100.5, 101, 100.2}, 0.01).empty()) << "steps within 1 % are no change";
  const auto two = count_steps({100, 110, 110, 100}, 0.01);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].index, 3u);
  EXPECT_DOUBLE_EQ(two[1].mean_before, 110);
}

// Counts of work: the same pair gets the same verdict from compare and from
// history check, whatever share of the machine other work took.
TEST(HistoryCheck, AgreesWithCompareOnCountsUnderAnyLoad) {
  const std::vector<double> past = {137.4273, 137.4275, 137.4274, 137.4272, 137.4276};
  const auto prior = [&](const std::string&, const std::string&) { return past; };
  const auto run_of = [](std::vector<double> counts, double foreign_share) {
    RunResults r;
    ScenarioResult s;
    s.scenario.name = "a";
    for (double v : counts) {
      Repetition rep;
      rep.metrics.set("instructions_per_token_conductor", v);
      rep.metrics.set("foreign_cpu_share", foreign_share);
      s.repetitions.push_back(rep);
    }
    r.scenarios.push_back(s);
    r.method.processes = counts.size();
    return r;
  };
  const RunResults base = run_of(past, 0.001);
  struct Case {
    std::vector<double> counts;
    double foreign_share;
    Verdict expected;
  };
  for (const Case& c : {Case{{139.447, 139.448, 139.447}, 0.9, Verdict::regressed},   // +1.5 % on a machine 90 % busy
                        Case{{139.447, 139.448, 139.447}, 0.0, Verdict::regressed},
                        Case{{137.9, 137.9, 137.9}, 0.9, Verdict::unchanged},         // +0.3 %: within 1 %
                        Case{{135.4, 135.4, 135.4}, 0.5, Verdict::improved},          // -1.5 %
                        Case{{139.4, 136.0, 142.0}, 0.0, Verdict::inconclusive}}) {   // counts that do not repeat
    const RunResults now = run_of(c.counts, c.foreign_share);
    const auto history = check_against_history(now, prior, default_policies());
    const Comparison comparison = compare_results(base, now, default_policies());
    ASSERT_EQ(history.verdicts.size(), 1u);
    ASSERT_EQ(comparison.scenarios[0].metrics.size(), 1u);
    const MetricComparison& m = comparison.scenarios[0].metrics[0];
    EXPECT_EQ(m.rule, Rule::counts);
    EXPECT_TRUE(m.gating);
    EXPECT_EQ(m.verdict, c.expected) << c.counts[0] << " at " << c.foreign_share << ": " << m.reason;
    EXPECT_EQ(history.verdicts[0].verdict, c.expected) << c.counts[0] << " at " << c.foreign_share << ": "
                                                       << history.verdicts[0].reason;
  }
}

}  // namespace
}  // namespace aiway
