#include <gtest/gtest.h>

#include "compare/statistics.hpp"
#include "compare/thresholds.hpp"

namespace aiway {
namespace {

Repetition rep(std::initializer_list<std::pair<const char*, double>> values) {
  Repetition r;
  for (const auto& [name, value] : values) r.metrics.set(name, value);
  return r;
}

TEST(Statistics, MedianMinMaxCv) {
  const MetricSummary s = summarize(std::vector<double>{4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.cv, 1.2909944487 / 2.5, 1e-9);  // sample stddev of 1..4 over the mean
  EXPECT_DOUBLE_EQ(median({5, 1, 9}), 5);
}

TEST(Statistics, UnstableAsPyperfWarns) {
  EXPECT_FALSE(summarize(std::vector<double>{100, 101, 99, 100, 102}).unstable);
  EXPECT_TRUE(summarize(std::vector<double>{100, 100, 100, 100, 150}).unstable);  // max 50 % above the median
  EXPECT_TRUE(summarize(std::vector<double>{80, 100, 120, 90, 110}).unstable);    // CV 15.8 %
  EXPECT_FALSE(summarize(std::vector<double>{42}).unstable);                      // one value: nothing to judge
}

TEST(Thresholds, MedianForPerformanceWorstForIntegrity) {
  Expectations e;
  e.min_throughput_tps = 100;
  const std::vector<Repetition> reps = {rep({{"throughput_tps", 90}, {"lost_unaccounted", 0}}),
                                        rep({{"throughput_tps", 150}, {"lost_unaccounted", 2}}),
                                        rep({{"throughput_tps", 120}, {"lost_unaccounted", 0}})};
  const auto results = evaluate_thresholds(e, reps);
  ASSERT_GE(results.size(), 2u);
  EXPECT_EQ(results[0].metric, "throughput_tps");
  EXPECT_DOUBLE_EQ(*results[0].value, 120);
  EXPECT_TRUE(results[0].passed);
  EXPECT_EQ(results[1].metric, "lost_unaccounted");
  EXPECT_DOUBLE_EQ(*results[1].value, 2);  // one bad repetition fails the scenario
  EXPECT_FALSE(results[1].passed);
}

TEST(Thresholds, UnmeasuredMetricFails) {
  Expectations e;
  e.max_quit_latency_ms = 1000;
  const auto results = evaluate_thresholds(e, {rep({{"throughput_tps", 1}})});
  const auto quit = std::find_if(results.begin(), results.end(), [](const auto& t) { return t.metric == "quit_latency_us"; });
  ASSERT_NE(quit, results.end());
  EXPECT_FALSE(quit->value.has_value());
  EXPECT_FALSE(quit->passed);
  EXPECT_DOUBLE_EQ(quit->limit, 1e6);  // ms in the scenario, us in the metric
}

TEST(PlainNumber, NeverAnExponent) {
  EXPECT_EQ(plain_number(1234567), "1.23M");
  EXPECT_EQ(plain_number(-2500), "-2.5k");
  EXPECT_EQ(plain_number(1e7), "10M");
  EXPECT_EQ(plain_number(12.34), "12.3");
  EXPECT_EQ(plain_number(100), "100");
  EXPECT_EQ(plain_number(0), "0");
  EXPECT_EQ(plain_number(0.000157), "0.000157");
  EXPECT_EQ(plain_number(0.00397), "0.00397");
  EXPECT_EQ(plain_number(1.01e8), "101M");
  EXPECT_EQ(plain_p(1.85e-23), "< 0.0001");
  EXPECT_EQ(plain_p(0.0531), "0.0531");
  for (double v : {1e-9, 3.3e-7, 7.01e6, 1.68e7, 4.2e15, 9.99e20})
    EXPECT_EQ(plain_number(v).find('e'), std::string::npos) << v;
}

}  // namespace
}  // namespace aiway
