// A known amount of CPU work that reads no clock: a dependent integer loop
// whose speed is measured once per process. It plants a calibrated slowdown
// (surface.extra_work_ns) where a clock-reading busy-wait would add the
// clock's own cost and its jitter to the work it is meant to add.
#pragma once

#include <cstdint>

namespace aiway {

// Loop iterations per nanosecond on this machine: the fastest of several
// timed runs (a preempted run only looks slower), measured on first use (~20 ms).
double busy_iterations_per_ns();

// Runs `iterations` dependent steps; returns a value so nothing is optimised away.
inline std::uint64_t busy_loop(std::uint64_t iterations, std::uint64_t x = 1) {
  for (std::uint64_t i = 0; i < iterations; ++i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    asm volatile("" : "+r"(x));
  }
  return x;
}

// Work of a fixed duration per call, as measured when it was made.
class BusyWork {
 public:
  explicit BusyWork(double ns) : iterations_(ns > 0 ? std::uint64_t(ns * busy_iterations_per_ns() + 0.5) : 0) {}
  bool active() const { return iterations_ > 0; }
  void run() { sink_ = busy_loop(iterations_, sink_); }
  std::uint64_t iterations() const { return iterations_; }

 private:
  std::uint64_t iterations_;
  std::uint64_t sink_ = 1;
};

}  // namespace aiway
