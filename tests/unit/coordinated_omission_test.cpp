// The `stall` scenario on a fake clock (whole microseconds), worked out by
// hand: 200,000 tokens due every 10 us, 200 slots of blocking channels, a
// surface that takes 1 us per token and stalls 50 ms after token 99,999.
//
// Let k = 99,999, t_k = 10k + 1 its delivery, R = t_k + 50,000 the end of the
// stall. Token k+j (j >= 1) is delivered at R + j until the backlog is gone,
// which happens once R + j <= 10(k+j) + 1, i.e. for j <= 5,555. So:
//   corrected   (from the schedule):   50,001 - 9j for j = 1..5,555, else 1 us;
//   uncorrected (from the late send):  tokens k+1..k+200 went out on time and
//     waited out the stall (50,001 - 9j); every later one was sent only when a
//     slot freed, 200 tokens before its delivery: min(50,001 - 9j, 200) us.
// Nearest-rank p99 of 200,000 values is the 198,000th smallest:
//   corrected:   194,445 ones, then the 3,555th smallest delayed value,
//                j = 5,556 - 3,555 = 2,001: 50,001 - 18,009 = 31,992 us;
//   uncorrected: 194,445 ones + 22 values below 200, then 5,333 of 200: 200 us.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "aiway/latency_histogram.hpp"

namespace aiway {
namespace {

struct Simulated {
  LatencyHistogram corrected{10'000'000, 3};
  LatencyHistogram uncorrected{10'000'000, 3};
};

Simulated simulate_stall() {
  constexpr std::int64_t kTokens = 200'000, kPeriod = 10, kCapacity = 200, kService = 1;
  constexpr std::int64_t kStallAfter = 99'999, kStall = 50'000;
  Simulated out;
  std::vector<std::int64_t> delivered(kTokens);
  std::int64_t surface_free = 0;  // fake clock: when the surface can take the next token
  for (std::int64_t i = 0; i < kTokens; ++i) {
    const std::int64_t intended = i * kPeriod;
    // Blocking channels: token i gets a slot once token i - capacity has been delivered.
    const std::int64_t sent = i >= kCapacity ? std::max(intended, delivered[i - kCapacity]) : intended;
    delivered[i] = std::max(sent, surface_free) + kService;
    surface_free = delivered[i] + (i == kStallAfter ? kStall : 0);
    out.corrected.record(delivered[i] - intended);
    out.uncorrected.record(delivered[i] - sent);
  }
  return out;
}

TEST(CoordinatedOmission, CorrectedP99ShowsTheStallUncorrectedHidesIt) {
  const Simulated s = simulate_stall();
  ASSERT_EQ(s.corrected.count(), 200'000);
  // Exact up to the histogram's stated precision (the bucket of the exact value).
  EXPECT_EQ(s.corrected.value_at_percentile(99), s.corrected.highest_equivalent(31'992));
  EXPECT_EQ(s.uncorrected.value_at_percentile(99), 200);  // below 2,048 every value is its own bucket
  EXPECT_EQ(s.corrected.max(), 49'992);                   // j = 1
  EXPECT_EQ(s.uncorrected.max(), 49'992);                 // the same token: it was sent on time
  EXPECT_EQ(s.corrected.value_at_percentile(50), 1);
  // Rank 199,800 is the last of the 200s; rank 199,900 is the 100th smallest of
  // the 200 tokens that waited out the stall (j = 101): 50,001 - 909.
  EXPECT_EQ(s.uncorrected.value_at_percentile(99.9), 200);
  EXPECT_EQ(s.uncorrected.value_at_percentile(99.95), s.uncorrected.highest_equivalent(49'092));
}

TEST(CoordinatedOmission, DelayedTokenCountMatchesTheHandCalculation) {
  const Simulated s = simulate_stall();
  // Tokens delivered later than 1 us after their schedule: j = 1..5,555.
  std::int64_t late = 0;
  for (const auto& point : s.corrected.spectrum())
    if (point.value == 1) late = s.corrected.count() - point.total_count;
  EXPECT_EQ(late, 5'555);
}

}  // namespace
}  // namespace aiway
