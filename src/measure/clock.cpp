#include "measure/clock.hpp"

#include <fstream>
#include <string>
#include <thread>

namespace aiway {
namespace {

bool cpu_has_invariant_tsc() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0)
      return line.find(" constant_tsc") != std::string::npos && line.find(" nonstop_tsc") != std::string::npos;
  }
  return false;
}

}  // namespace

Clock Clock::steady() { return Clock{}; }

Clock Clock::tsc_with_rate(double ns_per_tick) {
  Clock clock;
  clock.source_ = Source::tsc;
  clock.ns_per_tick_ = ns_per_tick;
  clock.base_tick_ = __rdtsc();
  clock.base_ns_ = monotonic_ns();
  return clock;
}

void sleep_ns(std::int64_t ns) {
  if (ns <= 0) return;
  const timespec ts{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

void Clock::sleep_until(std::int64_t deadline_ns) const { sleep_ns(deadline_ns - now_ns()); }

Clock Clock::detect() {
  Clock clock;
  if (!cpu_has_invariant_tsc()) return clock;
  // Two (tsc, monotonic) pairs 20 ms apart give the rate. Each pair is the
  // most tightly bracketed of many reads: a pair whose monotonic read was
  // preempted (a VM exit, another thread) would put its midpoint microseconds
  // off and the rate off by percents, and that changed from process to process.
  auto pair = [] {
    std::uint64_t best_width = UINT64_MAX, best_tick = 0;
    std::int64_t best_ns = 0;
    for (int i = 0; i < 64; ++i) {
      const std::uint64_t t0 = __rdtsc();
      const std::int64_t ns = monotonic_ns();
      const std::uint64_t t1 = __rdtsc();
      if (t1 > t0 && t1 - t0 < best_width) {
        best_width = t1 - t0;
        best_tick = t0 + (t1 - t0) / 2;
        best_ns = ns;
      }
    }
    return std::pair<std::uint64_t, std::int64_t>{best_tick, best_ns};
  };
  const auto a = pair();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto b = pair();
  if (b.first <= a.first || b.second <= a.second) return clock;
  clock.source_ = Source::tsc;
  clock.ns_per_tick_ = double(b.second - a.second) / double(b.first - a.first);
  clock.base_tick_ = b.first;
  clock.base_ns_ = b.second;
  return clock;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

}  // namespace aiway

namespace aiway {
double unix_time_s() {
  timespec real{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  return double(real.tv_sec) + double(real.tv_nsec) / 1e9;
}
}  // namespace aiway
