// A cheap monotonic clock in nanoseconds. Uses the TSC where the CPU says it is
// invariant (constant_tsc + nonstop_tsc), its rate calibrated against
// CLOCK_MONOTONIC; otherwise steady_clock.
//
// Guarantee: a deadline read from this clock is waited for with this clock
// alone (sleep_until, or a kernel timeout computed as deadline - now_ns()).
// The TSC's rate is never exactly CLOCK_MONOTONIC's (calibration error, NTP
// slewing the kernel clock), so an absolute TSC reading handed to a
// CLOCK_MONOTONIC wait drifts by milliseconds over a run: a lagging clock then
// finds every deadline already past and spins. A duration carries only
// rate error x duration (nanoseconds over a 10 ms sleep).
#pragma once

#include <cstdint>
#include <string_view>

namespace aiway {

class Clock {
 public:
  enum class Source { tsc, steady };

  // Detects the best source and calibrates it (takes ~20 ms for the TSC).
  static Clock detect();
  static Clock steady();
  // A TSC clock with a given rate (tests: a clock that runs fast or slow
  // against CLOCK_MONOTONIC).
  static Clock tsc_with_rate(double ns_per_tick);

  // Sleeps until this clock reads at least deadline_ns, or returns at once
  // when it already does. One call may wake early (a signal); callers loop.
  void sleep_until(std::int64_t deadline_ns) const;
  // The nanoseconds rate of this clock's ticks (1 for steady_clock).
  double ns_per_tick() const { return ns_per_tick_; }

  std::int64_t now_ns() const;
  Source source() const { return source_; }
  std::string_view source_name() const { return source_ == Source::tsc ? "tsc" : "steady_clock"; }

 private:
  Source source_ = Source::steady;
  std::uint64_t base_tick_ = 0;
  std::int64_t base_ns_ = 0;
  double ns_per_tick_ = 1.0;
};

// CLOCK_MONOTONIC in ns: the watchdog's and the sampler's time base.
std::int64_t monotonic_ns();
// Sleeps for ns nanoseconds of CLOCK_MONOTONIC (nothing when ns <= 0).
void sleep_ns(std::int64_t ns);
// Wall-clock time as Unix seconds (CLOCK_REALTIME): only for times shared
// between machines (a common start), never for a duration.
double unix_time_s();
// CPU time of the calling thread, in seconds.
double thread_cpu_seconds();

}  // namespace aiway

#include <x86intrin.h>
#include <time.h>

namespace aiway {
inline std::int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline std::int64_t Clock::now_ns() const {
  if (source_ == Source::tsc)
    return base_ns_ + std::int64_t(double(__rdtsc() - base_tick_) * ns_per_tick_);
  return monotonic_ns();
}
}  // namespace aiway
