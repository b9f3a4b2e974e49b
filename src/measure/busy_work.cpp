#include "measure/busy_work.hpp"

#include <algorithm>

#include "measure/clock.hpp"

namespace aiway {
namespace {

double measure_iterations_per_ns() {
  constexpr std::uint64_t kIterations = 2'000'000;  // ~1-3 ms a run
  std::int64_t best = INT64_MAX;
  std::uint64_t sink = 1;
  for (int run = 0; run < 9; ++run) {
    const std::int64_t start = monotonic_ns();
    sink = busy_loop(kIterations, sink);
    best = std::min(best, monotonic_ns() - start);
  }
  asm volatile("" : : "r"(sink));
  return double(kIterations) / double(std::max<std::int64_t>(best, 1));
}

}  // namespace

double busy_iterations_per_ns() {
  static const double rate = measure_iterations_per_ns();  // immutable once measured
  return rate;
}

}  // namespace aiway
