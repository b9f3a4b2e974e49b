// A cheap monotonic clock in nanoseconds. Uses the TSC where the CPU says it is
// invariant (constant_tsc + nonstop_tsc), calibrated against CLOCK_MONOTONIC so
// its readings are comparable with futex deadlines; otherwise steady_clock.
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

  std::int64_t now_ns() const;
  Source source() const { return source_; }
  std::string_view source_name() const { return source_ == Source::tsc ? "tsc" : "steady_clock"; }

 private:
  Source source_ = Source::steady;
  std::uint64_t base_tick_ = 0;
  std::int64_t base_ns_ = 0;
  double ns_per_tick_ = 1.0;
};

// CLOCK_MONOTONIC in ns: the time base of Clock and of futex deadlines.
std::int64_t monotonic_ns();
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
