// Process-level resource readings from /proc and getrusage.
#pragma once

#include <cstdint>
#include <optional>

namespace aiway {

struct ProcessUsage {
  double cpu_seconds = 0;  // user + system, all threads
  std::int64_t ctx_voluntary = 0;
  std::int64_t ctx_involuntary = 0;
};

ProcessUsage process_usage();
// CPU time the whole machine has spent busy, summed over its CPUs: every
// task's, exact to the nanosecond from the top cgroup's CPU accounting (v2
// cpu.stat or v1 cpuacct), plus a hypervisor's steal from /proc/stat; where
// there is no cgroup accounting, /proc/stat alone (ticks: ~10 ms per CPU).
// Absent when neither can be read.
std::optional<double> machine_busy_seconds();
// Resident set size now, from /proc/self/statm (one read, no allocation).
std::int64_t rss_bytes();
// VmHWM from /proc/self/status: the peak RSS since the last reset_peak_rss().
std::int64_t peak_rss_bytes();
// Resets VmHWM (writes "5" to /proc/self/clear_refs); false where not permitted.
bool reset_peak_rss();
// Asks the allocator to return free memory to the OS, so a repetition starts
// from a trimmed heap and its RSS growth is its own (not hidden by pages the
// previous repetition freed but the allocator kept).
void release_free_memory();

}  // namespace aiway
