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
// CPU over an interval: this process's, and everything else's on the machine,
// which is what makes a measurement slow without the measured code being slower.
struct CpuUsage {
  double wall_s = 0;
  double cpu_s = 0;  // this process: user + system, all threads
  std::int64_t ctx_voluntary = 0, ctx_involuntary = 0;
  int cpus = 1;      // logical CPUs online
  // Other work's share of the machine's CPU (wall x CPUs): its busy time minus
  // this process's. Absent where the machine's CPU time cannot be read.
  std::optional<double> foreign_share;
  // A CPU time as a share of what the machine had over the window.
  double share(double seconds) const { return wall_s > 0 ? seconds / (wall_s * cpus) : 0; }
};
// Other work's CPU share is judged over at least this long for a repetition:
// over a 10 ms one, a 2 ms burst of kernel housekeeping would read as 10 %.
inline constexpr double kMinForeignWindowS = 0.1;
class CpuWindow {
 public:
  CpuWindow();  // opens now
  // Over a short window the kernel's own bursts (a millisecond or two of page
  // reclaim or memory monitoring) read as a large foreign share: the foreign
  // share is then taken over min_foreign_window_s from the start, idling for
  // the rest. Everything else covers the window up to the call.
  CpuUsage close(double min_foreign_window_s = 0) const;

 private:
  ProcessUsage start_;
  std::optional<double> machine_start_s_;
  std::int64_t start_ns_;
};

// Resident set size now, from /proc/self/statm (one read, no allocation).
std::int64_t rss_bytes();
// The same reading, taken again and again from one open /proc/self/statm
// (pread at offset 0). Opening it per reading cost the sampler an open, a
// close and the kernel's buffer for the file every time: the sampler thread
// was 8 % of a paced run's CPU samples (perf, rapid-tokens).
class RssReader {
 public:
  RssReader();
  ~RssReader();
  RssReader(const RssReader&) = delete;
  RssReader& operator=(const RssReader&) = delete;
  std::int64_t bytes() const;  // 0 when it cannot be read

 private:
  int fd_;
  std::int64_t page_bytes_;
};
// What this process can allocate: the smallest of MemAvailable (/proc/meminfo,
// without swapping), what its cgroup v2 limits still allow (memory.max -
// memory.current, up the hierarchy) and what ulimit -v leaves of its address
// space; 0 when none is known.
std::int64_t mem_available_bytes();
// VmHWM from /proc/self/status: the peak RSS since the last reset_peak_rss().
std::int64_t peak_rss_bytes();
// Resets VmHWM (writes "5" to /proc/self/clear_refs); false where not permitted.
bool reset_peak_rss();
// Asks the allocator to return free memory to the OS, so a repetition starts
// from a trimmed heap and its RSS growth is its own (not hidden by pages the
// previous repetition freed but the allocator kept).
void release_free_memory();

}  // namespace aiway
