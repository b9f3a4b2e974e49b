#include "aiway/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace aiway {
namespace {

// Exact nearest-rank percentile of sorted values: the definition the histogram approximates.
// Integer arithmetic on p in parts per million, so the reference has no rounding error.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double p) {
  const auto ppm = std::uint64_t(std::llround(p * 1e6));
  const std::uint64_t n = sorted.size();
  const std::uint64_t rank = std::max<std::uint64_t>(1, (ppm * n + 100'000'000 - 1) / 100'000'000);
  return sorted[rank - 1];
}

// The histogram reports the highest value equivalent to the exact one: never
// below it, and at most 10^-3 relative above it (3 significant digits).
void expect_within_precision(const LatencyHistogram& h, const std::vector<std::int64_t>& sorted, double p) {
  const std::int64_t exact = exact_percentile(sorted, p);
  const std::int64_t reported = h.value_at_percentile(p);
  EXPECT_GE(reported, exact) << "p" << p;
  EXPECT_LE(double(reported - exact), std::max(1.0, double(exact) * 1e-3)) << "p" << p;
}

TEST(LatencyHistogram, UniformValuesWithinPrecision) {
  LatencyHistogram h;
  std::vector<std::int64_t> values;
  for (std::int64_t v = 1; v <= 1'000'000; ++v) values.push_back(v);
  for (auto v : values) h.record(v);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) expect_within_precision(h, values, p);
  EXPECT_EQ(h.count(), 1'000'000);
  EXPECT_EQ(h.max(), 1'000'000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_NEAR(h.mean(), 500'000.5, 1e-6);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::int64_t v = 0; v < 2048; ++v) h.record(v);
  for (std::int64_t v = 0; v < 2048; ++v) EXPECT_EQ(h.highest_equivalent(v), v);
  EXPECT_EQ(h.value_at_percentile(50), 1023);
}

TEST(LatencyHistogram, BimodalDistribution) {
  LatencyHistogram h;
  std::vector<std::int64_t> values;
  for (int i = 0; i < 9000; ++i) values.push_back(1'000);       // 1 us
  for (int i = 0; i < 1000; ++i) values.push_back(50'000'000);  // 50 ms
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 89.0, 90.0, 90.01, 99.0}) expect_within_precision(h, values, p);
  EXPECT_EQ(h.value_at_percentile(90), 1'000);
  EXPECT_GE(h.value_at_percentile(90.01), 50'000'000);
}

TEST(LatencyHistogram, SingleHugeOutlierOnlyMovesTheMax) {
  LatencyHistogram h;
  std::vector<std::int64_t> values(99'999, 20'000);
  values.push_back(300'000'000'000);  // 5 minutes
  for (auto v : values) h.record(v);
  EXPECT_LE(h.value_at_percentile(99.999), 20'020);
  EXPECT_EQ(h.value_at_percentile(100), 300'000'000'000);
  EXPECT_EQ(h.max(), 300'000'000'000);
}

TEST(LatencyHistogram, RandomLogNormalWithinPrecision) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(10.0, 2.0);
  LatencyHistogram h;
  std::vector<std::int64_t> values;
  for (int i = 0; i < 200'000; ++i) values.push_back(std::int64_t(dist(rng)));
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double p : {25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99}) expect_within_precision(h, values, p);
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (std::int64_t v = 1; v < 100'000; v += 3) {
    (v % 2 ? a : b).record(v * 7);
    all.record(v * 7);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {10.0, 50.0, 99.0, 100.0}) EXPECT_EQ(a.value_at_percentile(p), all.value_at_percentile(p));
  EXPECT_EQ(a.max(), all.max());
}

TEST(LatencyHistogram, OutOfRangeValuesAreClampedAndCounted) {
  LatencyHistogram h(1'000'000, 3);
  h.record(5'000'000);
  h.record(-5);
  EXPECT_EQ(h.saturated(), 1);
  EXPECT_EQ(h.max(), 1'000'000);
  EXPECT_EQ(h.min(), 0);
}

TEST(LatencyHistogram, MemoryIsFixedRegardlessOfSamples) {
  LatencyHistogram h;
  const std::size_t before = h.memory_bytes();
  for (int i = 0; i < 1'000'000; ++i) h.record(i * 1'000LL);
  EXPECT_EQ(h.memory_bytes(), before);
  EXPECT_LT(before, 512u * 1024u);
}

TEST(LatencyHistogram, SpectrumIsMonotonicAndEndsAtTheMax) {
  LatencyHistogram h;
  for (std::int64_t v = 1; v <= 10'000; ++v) h.record(v * 100);
  const auto spectrum = h.spectrum();
  ASSERT_GT(spectrum.size(), 20u);
  EXPECT_EQ(spectrum.front().percentile, 0.0);
  EXPECT_EQ(spectrum.back().percentile, 1.0);
  EXPECT_EQ(spectrum.back().total_count, 10'000);
  for (std::size_t i = 1; i < spectrum.size(); ++i) {
    EXPECT_GE(spectrum[i].value, spectrum[i - 1].value);
    EXPECT_GT(spectrum[i].percentile, spectrum[i - 1].percentile);
  }
}

}  // namespace
}  // namespace aiway
