#include "measure/process_stats.hpp"

#include "measure/clock.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>
#include <cstdio>
#ifdef AIWAY_WITH_MIMALLOC
#include <mimalloc.h>
#endif
#include <cstdlib>
#include <optional>
#include <string>
#include <cstring>

namespace aiway {

ProcessUsage process_usage() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  ProcessUsage u;
  u.cpu_seconds = double(usage.ru_utime.tv_sec) + double(usage.ru_utime.tv_usec) * 1e-6 +
                  double(usage.ru_stime.tv_sec) + double(usage.ru_stime.tv_usec) * 1e-6;
  u.ctx_voluntary = usage.ru_nvcsw;
  u.ctx_involuntary = usage.ru_nivcsw;
  return u;
}

namespace {
// Plain read(2) into the caller's buffer: the sampler reads /proc every few ms
// and must not allocate (it would disturb the allocation counts it sits beside).
template <std::size_t N>
bool read_proc_file(const char* path, char (&buffer)[N]) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = read(fd, buffer, N - 1);
  close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  return true;
}
}  // namespace

namespace {
// /proc/stat's first line: user, nice, system, idle, iowait, irq, softirq, steal
// (in USER_HZ ticks, all CPUs). Ticks: only good to ~10 ms per CPU.
struct ProcStatCpu {
  unsigned long long busy = 0, steal = 0;
};
std::optional<ProcStatCpu> proc_stat_cpu() {
  char buffer[512];
  if (!read_proc_file("/proc/stat", buffer)) return std::nullopt;
  unsigned long long user = 0, nice = 0, system = 0, irq = 0, softirq = 0, steal = 0;  // idle and iowait skipped
  if (std::sscanf(buffer, "cpu %llu %llu %llu %*u %*u %llu %llu %llu", &user, &nice, &system, &irq, &softirq, &steal) != 6)
    return std::nullopt;
  return ProcStatCpu{user + nice + system + irq + softirq + steal, steal};
}

// CPU time of every task in the top cgroup this process can see, in ns: exact,
// where /proc/stat is in ticks. cgroup v2 (usage_usec) or v1 cpuacct.
std::optional<double> cgroup_cpu_seconds() {
  char buffer[1024];
  if (read_proc_file("/sys/fs/cgroup/cpu.stat", buffer)) {
    unsigned long long usec = 0;
    if (const char* at = std::strstr(buffer, "usage_usec "); at && std::sscanf(at, "usage_usec %llu", &usec) == 1)
      return double(usec) / 1e6;
  }
  for (const char* path : {"/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"}) {
    unsigned long long ns = 0;
    if (read_proc_file(path, buffer) && std::sscanf(buffer, "%llu", &ns) == 1) return double(ns) / 1e9;
  }
  return std::nullopt;
}
}  // namespace

std::optional<double> machine_busy_seconds() {
  const double tick = 1.0 / double(sysconf(_SC_CLK_TCK));
  const auto stat = proc_stat_cpu();
  // The cgroup counts tasks exactly but not a hypervisor's steal: add that from /proc/stat.
  if (const auto tasks = cgroup_cpu_seconds()) return *tasks + (stat ? double(stat->steal) * tick : 0.0);
  if (stat) return double(stat->busy) * tick;
  return std::nullopt;
}

CpuWindow::CpuWindow()
    : start_(process_usage()), machine_start_s_(machine_busy_seconds()), start_ns_(monotonic_ns()) {}

CpuUsage CpuWindow::close(double min_foreign_window_s) const {
  ProcessUsage end = process_usage();
  std::optional<double> machine_end_s = machine_busy_seconds();
  CpuUsage u;
  u.wall_s = double(monotonic_ns() - start_ns_) / 1e9;
  u.cpu_s = end.cpu_seconds - start_.cpu_seconds;
  u.ctx_voluntary = end.ctx_voluntary - start_.ctx_voluntary;
  u.ctx_involuntary = end.ctx_involuntary - start_.ctx_involuntary;
  u.cpus = std::max(1, int(sysconf(_SC_NPROCESSORS_ONLN)));
  double foreign_wall_s = u.wall_s;
  if (u.wall_s < min_foreign_window_s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(min_foreign_window_s - u.wall_s));
    end = process_usage();
    machine_end_s = machine_busy_seconds();
    foreign_wall_s = double(monotonic_ns() - start_ns_) / 1e9;
  }
  if (machine_start_s_ && machine_end_s && foreign_wall_s > 0) {
    const double foreign_s = std::max(0.0, *machine_end_s - *machine_start_s_ - (end.cpu_seconds - start_.cpu_seconds));
    u.foreign_share = foreign_s / (foreign_wall_s * u.cpus);
  }
  return u;
}

std::int64_t rss_bytes() { return RssReader().bytes(); }

RssReader::RssReader() : fd_(open("/proc/self/statm", O_RDONLY | O_CLOEXEC)), page_bytes_(sysconf(_SC_PAGESIZE)) {}

RssReader::~RssReader() {
  if (fd_ >= 0) close(fd_);
}

std::int64_t RssReader::bytes() const {
  // "size resident shared ...", in pages.
  char buffer[128];
  const ssize_t n = fd_ >= 0 ? pread(fd_, buffer, sizeof buffer, 0) : -1;
  if (n <= 0) return 0;
  const char* const end = buffer + n;
  const char* p = std::find(static_cast<const char*>(buffer), end, ' ');
  std::uint64_t resident = 0;
  if (p == end || std::from_chars(p + 1, end, resident).ec != std::errc()) return 0;
  return std::int64_t(resident) * page_bytes_;
}

namespace {

// What the cgroup (v2) this process is in, and each one above it, still
// allows: the smallest memory.max - memory.current; none without a limit.
std::optional<std::int64_t> cgroup_memory_left() {
  char buffer[4096];
  if (!read_proc_file("/proc/self/cgroup", buffer)) return std::nullopt;
  const char* line = std::strstr(buffer, "0::");
  if (!line) return std::nullopt;
  std::string path(line + 3, std::strcspn(line + 3, "\n"));
  std::optional<std::int64_t> left;
  for (;;) {
    const std::string dir = "/sys/fs/cgroup" + path;
    char max_text[64] = {}, current_text[64] = {};
    FILE* max_file = std::fopen((dir + "/memory.max").c_str(), "re");
    FILE* current_file = std::fopen((dir + "/memory.current").c_str(), "re");
    if (max_file && current_file && std::fgets(max_text, sizeof max_text, max_file) &&
        std::fgets(current_text, sizeof current_text, current_file) && std::strncmp(max_text, "max", 3) != 0) {
      const std::int64_t room = std::strtoll(max_text, nullptr, 10) - std::strtoll(current_text, nullptr, 10);
      left = std::min(left.value_or(room), std::max<std::int64_t>(0, room));
    }
    if (max_file) std::fclose(max_file);
    if (current_file) std::fclose(current_file);
    if (path.empty() || path == "/") break;
    path = path.substr(0, path.rfind('/'));
  }
  return left;
}

// What ulimit -v (RLIMIT_AS) still allows this process to map; none when unlimited.
std::optional<std::int64_t> address_space_left() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  char buffer[256];
  std::int64_t mapped = 0;
  if (read_proc_file("/proc/self/statm", buffer)) mapped = std::strtoll(buffer, nullptr, 10) * ::sysconf(_SC_PAGESIZE);
  return std::max<std::int64_t>(0, std::int64_t(limit.rlim_cur) - mapped);
}

}  // namespace

std::int64_t mem_available_bytes() {
  char buffer[4096];
  std::int64_t available = 0;
  if (read_proc_file("/proc/meminfo", buffer))
    if (const char* line = std::strstr(buffer, "MemAvailable:")) available = std::strtoll(line + 13, nullptr, 10) * 1024;
  // The machine's free memory is not this process's when a container or a
  // ulimit gives it less: the smallest of the three is what it can have.
  for (const std::optional<std::int64_t> limit : {cgroup_memory_left(), address_space_left()})
    if (limit) available = available > 0 ? std::min(available, *limit) : *limit;
  return available;
}

std::int64_t peak_rss_bytes() {
  char buffer[4096];
  if (!read_proc_file("/proc/self/status", buffer)) return 0;
  const char* line = std::strstr(buffer, "VmHWM:");
  if (!line) return 0;
  return std::strtoll(line + 6, nullptr, 10) * 1024;
}

void release_free_memory() {
#ifdef AIWAY_WITH_MIMALLOC
  mi_collect(true);
#endif
  malloc_trim(0);
}

bool reset_peak_rss() {
  const int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

}  // namespace aiway
