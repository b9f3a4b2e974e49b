// Counts C++ heap allocations (global operator new) per thread. The counters
// are thread-local, so counting costs an increment and never contends; a stage
// reads its own thread's counts before and after its work. Allocations made
// with malloc directly (moodycamel's block allocator, C libraries) are not
// counted.
#pragma once

#include <cstdint>

namespace aiway {

struct AllocationCount {
  std::uint64_t allocations = 0;
  std::uint64_t bytes = 0;
};

// The calling thread's totals since it started.
AllocationCount thread_allocations();
// False in sanitizer builds, which keep their own operator new (and its checks).
bool allocation_counting_active();

// CPU time and allocations of one stage thread: constructed when its work
// starts, finish() when it ends.
struct StageUsage {
  double cpu_s = 0;
  AllocationCount allocations;
};

class StageMeter {
 public:
  StageMeter();
  StageUsage finish() const;

 private:
  double cpu0_;
  AllocationCount allocations0_;
};

}  // namespace aiway
