// Process-level resource readings from /proc and getrusage.
#pragma once

#include <cstdint>

namespace aiway {

struct ProcessUsage {
  double cpu_seconds = 0;  // user + system, all threads
  std::int64_t ctx_voluntary = 0;
  std::int64_t ctx_involuntary = 0;
};

ProcessUsage process_usage();
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
