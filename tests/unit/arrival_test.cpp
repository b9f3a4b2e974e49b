#include "pipeline/arrival.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace aiway {
namespace {

std::vector<double> gaps(Arrival arrival, double burstiness, std::uint64_t seed, int n) {
  ArrivalSchedule schedule(arrival, 1000.0, burstiness, seed, 5'000);  // 1 ms mean gap
  std::vector<double> out;
  std::int64_t last = schedule.next();
  for (int i = 0; i < n; ++i) {
    const std::int64_t due = schedule.next();
    out.push_back(double(due - last));
    last = due;
  }
  return out;
}

void mean_and_cv(const std::vector<double>& v, double& mean, double& cv) {
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  mean = sum / double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  cv = std::sqrt(sq / double(v.size())) / mean;
}

TEST(ArrivalSchedule, ConstantIsExactFromTheIndex) {
  ArrivalSchedule schedule(Arrival::constant, 3.0, 1, 1, 100);  // 333,333,333.3 ns apart
  EXPECT_EQ(schedule.peek(), 100);
  EXPECT_EQ(schedule.next(), 100);
  EXPECT_EQ(schedule.next(), 100 + 333'333'333);
  EXPECT_EQ(schedule.next(), 100 + 666'666'666);
  EXPECT_EQ(schedule.peek(), 100 + 1'000'000'000);
}

TEST(ArrivalSchedule, PoissonGapsHaveTheRateAndCvOne) {
  double mean = 0, cv = 0;
  mean_and_cv(gaps(Arrival::poisson, 1, 42, 200'000), mean, cv);
  EXPECT_NEAR(mean, 1e6, 1e6 * 0.01);
  EXPECT_NEAR(cv, 1.0, 0.02);  // exponential gaps: standard deviation = mean
}

TEST(ArrivalSchedule, GammaBurstinessSetsTheSpread) {
  double mean = 0, cv = 0;
  mean_and_cv(gaps(Arrival::gamma, 0.25, 42, 200'000), mean, cv);
  EXPECT_NEAR(mean, 1e6, 1e6 * 0.02);
  EXPECT_NEAR(cv, 2.0, 0.05);  // gamma with shape k: CV = 1 / sqrt(k)
}

TEST(ArrivalSchedule, SeededAndReproducible) {
  EXPECT_EQ(gaps(Arrival::poisson, 1, 7, 1000), gaps(Arrival::poisson, 1, 7, 1000));
  EXPECT_NE(gaps(Arrival::poisson, 1, 7, 1000), gaps(Arrival::poisson, 1, 8, 1000));
}

TEST(NetworkHop, DelayWithinTheJitterAndInOrder) {
  NetworkHop hop(HopConfig{2000, 1000}, 3);  // 2 ms +- 1 ms
  std::int64_t last = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::int64_t sent = std::int64_t(i) * 10'000;  // 10 us apart: arrivals often catch up
    const std::int64_t arrives = hop.arrival(sent);
    EXPECT_GE(arrives, sent + 1'000'000);
    EXPECT_GE(arrives, last) << "never before the token ahead";
    // At most the largest delay, or the token ahead's arrival when that was later.
    EXPECT_TRUE(arrives <= sent + 3'000'000 || arrives == last);
    last = arrives;
  }
}

}  // namespace
}  // namespace aiway
