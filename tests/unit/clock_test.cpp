// The harness clock and the waits built on it. The regression these guard:
// a TSC clock whose rate differs from CLOCK_MONOTONIC's (calibration error, NTP
// slew) used to hand absolute TSC deadlines to CLOCK_MONOTONIC sleeps, so a
// lagging clock found every deadline past and the paced backend spun.
#include "measure/clock.hpp"

#include <gtest/gtest.h>

#include "aiway/scenario_file.hpp"
#include "pipeline/pipeline.hpp"
#include "stages/resolve.hpp"

namespace aiway {
namespace {

// A (clock, monotonic) pair read as tightly as possible, so a preemption
// between the two reads does not count as clock error.
std::pair<std::int64_t, std::int64_t> paired_read(const Clock& clock) {
  std::int64_t best = INT64_MAX, at = 0, mono = 0;
  for (int i = 0; i < 64; ++i) {
    const std::int64_t a = monotonic_ns(), c = clock.now_ns(), b = monotonic_ns();
    if (b - a < best) {
      best = b - a;
      at = c;
      mono = a + (b - a) / 2;
    }
  }
  return {at, mono};
}

TEST(Clock, CalibratedRateAgreesWithMonotonic) {
  const Clock clock = Clock::detect();
  const auto [c0, m0] = paired_read(clock);
  sleep_ns(300'000'000);
  const auto [c1, m1] = paired_read(clock);
  const double ratio = double(c1 - c0) / double(m1 - m0);
  // A calibration from one preempted pair was off by percents; the tightest of
  // 64 brackets is off by parts per million. 0.1 % leaves room for NTP slew.
  EXPECT_NEAR(ratio, 1.0, 1e-3) << "clock source " << clock.source_name();
}

TEST(Clock, SleepUntilWaitsOnItsOwnClock) {
  const Clock fast = Clock::tsc_with_rate(Clock::detect().ns_per_tick() * 1.05);
  const Clock slow = Clock::tsc_with_rate(Clock::detect().ns_per_tick() * 0.95);
  for (const Clock* clock : {&fast, &slow}) {
    const std::int64_t deadline = clock->now_ns() + 20'000'000;
    int sleeps = 0;
    while (clock->now_ns() < deadline) {
      clock->sleep_until(deadline);
      ++sleeps;
    }
    // Reached with one sleep (two or three when the duration's rate error
    // leaves a remainder), never a spin of thousands.
    EXPECT_LE(sleeps, 4);
  }
}

// A paced backend on a clock 2 % slower than CLOCK_MONOTONIC: after 10 ms the
// two are a window apart, and the old absolute wait returned at once, every
// time (hundreds of thousands of wake-ups a second). Each sleep now lasts at
// least the batch window on the backend's own clock, so the wake-ups are
// bounded by run time / window; a busy machine can only make them fewer.
TEST(Clock, PacedBackendSleepsWhenItsClockLagsTheKernel) {
  for (const double rate : {0.98, 1.02}) {
    const Clock clock = Clock::tsc_with_rate(Clock::detect().ns_per_tick() * rate);
    Scenario s = parse_scenario("[backend]\nmessages = 10000\nrate_tps = 20000\n", "test.toml");
    Pipeline p(s, clock, make_stages(s));
    p.start();
    ASSERT_TRUE(p.wait_until(monotonic_ns() + 60'000'000'000)) << "pipeline did not finish";
    const double run_s = double(p.surface().last_item_ns - p.backend().start_ns) / 1e9;
    const double windows = run_s / (s.pipeline.batch_window_us * 1e-6);
    EXPECT_EQ(p.surface().delivered, 10'000u);
    EXPECT_LE(double(p.backend().wakeups), 1.5 * windows + 10) << "rate " << rate << ", " << run_s << " s";
    EXPECT_GT(p.backend().wakeups, 0u);
  }
}

}  // namespace
}  // namespace aiway
