#include "measure/process_stats.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <malloc.h>

#include <cstdio>
#ifdef AIWAY_WITH_MIMALLOC
#include <mimalloc.h>
#endif
#include <cstdlib>
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

std::int64_t rss_bytes() {
  char buffer[128];
  if (!read_proc_file("/proc/self/statm", buffer)) return 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buffer, "%llu %llu", &size, &resident) != 2) return 0;
  return std::int64_t(resident) * sysconf(_SC_PAGESIZE);
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
