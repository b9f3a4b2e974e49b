// A known amount of CPU work that reads no clock: a dependent integer loop
// whose speed is measured once per process. It plants a calibrated slowdown
// (surface.extra_work_ns) where a clock-reading busy-wait would add the
// clock's own cost and its jitter to the work it is meant to add.
#pragma once

#include <cstddef>
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

// Exactly `instructions` retired instructions (rounded down to an even
// number), reading no clock and touching no memory: two per iteration of a
// decrement-and-branch loop written in assembly, so no compiler can change the
// count. What an instruction count (run --count-instructions) must see added,
// exactly, when a scenario plants ROLE.extra_work_instructions.
inline void counted_work(std::uint64_t instructions) {
  std::uint64_t iterations = instructions / 2;
  if (iterations == 0) return;
#if defined(__x86_64__)
  asm volatile("1:\n\tdec %0\n\tjnz 1b" : "+r"(iterations) : : "cc");
#elif defined(__aarch64__)
  asm volatile("1:\n\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(iterations) : : "cc");
#else
  // Elsewhere the compiler's loop: a fixed count per iteration, not known to be two.
  for (; iterations > 0; --iterations) asm volatile("" : "+r"(iterations));
#endif
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

// The work a scenario plants on a stage per token: a duration that reads no
// clock (ROLE.extra_work_ns) and an exact number of instructions
// (ROLE.extra_work_instructions), run as part of the stage's own work.
class PlantedWork {
 public:
  PlantedWork(double ns, std::uint64_t instructions) : timed_(ns), instructions_(instructions) {}
  void run(std::size_t tokens) {
    if (timed_.active())
      for (std::size_t k = 0; k < tokens; ++k) timed_.run();
    if (instructions_ > 0) counted_work(instructions_ * tokens);
  }

 private:
  BusyWork timed_;
  std::uint64_t instructions_;
};

}  // namespace aiway
