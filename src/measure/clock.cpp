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

Clock Clock::detect() {
  Clock clock;
  if (!cpu_has_invariant_tsc()) return clock;
  // Two (tsc, monotonic) pairs 20 ms apart give the rate; each pair is read
  // tightly bracketed so the pairing error stays in the tens of ns.
  auto pair = [] {
    std::uint64_t t0 = __rdtsc();
    std::int64_t ns = monotonic_ns();
    std::uint64_t t1 = __rdtsc();
    return std::pair<std::uint64_t, std::int64_t>{t0 + (t1 - t0) / 2, ns};
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
