#include "measure/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <string>

#ifdef AIWAY_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace aiway {
const char* git_revision();  // generated at build time

namespace {

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "unknown";
}

}  // namespace

std::string active_allocator() {
#ifdef AIWAY_WITH_MIMALLOC
  void* probe = std::calloc(1, 64);
  const bool ours = mi_is_in_heap_region(probe);
  std::free(probe);
  return ours ? "mimalloc" : "system (mimalloc linked but not active)";
#else
  return "system";
#endif
}

ToolInfo describe_tool() {
  ToolInfo tool;
  tool.version = AIWAY_VERSION;
  tool.git = git_revision();
#if defined(__clang__)
  tool.compiler = fmt::format("clang++ {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  tool.compiler = fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  tool.compiler = "unknown";
#endif
  tool.build_type = AIWAY_BUILD_TYPE;
  tool.allocator = active_allocator();
  return tool;
}

MachineInfo describe_machine(const Clock& clock) {
  MachineInfo m;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  m.hostname = host;
  m.cpu_model = cpuinfo_field("model name");
  m.logical_cpus = int(sysconf(_SC_NPROCESSORS_ONLN));
  m.memory_bytes = std::int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  utsname u{};
  uname(&u);
  m.kernel = fmt::format("{} {}", u.sysname, u.release);
  m.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  if (m.governor.empty()) m.governor = "unknown";
  m.clock_source = std::string(clock.source_name());
  for (int index = 0;; ++index) {
    const std::string dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/", index);
    const std::string level = read_first_line((dir + "level").c_str());
    if (level.empty()) break;
    CacheInfo cache;
    cache.level = std::atoi(level.c_str());
    cache.type = read_first_line((dir + "type").c_str());
    const std::string size = read_first_line((dir + "size").c_str());  // e.g. "512K"
    cache.size_bytes = std::atoll(size.c_str()) * (size.ends_with("M") ? 1 << 20 : size.ends_with("K") ? 1024 : 1);
    const std::string shared = read_first_line((dir + "shared_cpu_list").c_str());  // e.g. "0-1" or "0"
    const auto dash = shared.find('-');
    cache.num_sharing = dash == std::string::npos ? 1 : std::atoi(shared.c_str() + dash + 1) - std::atoi(shared.c_str()) + 1;
    m.caches.push_back(cache);
  }
  double load[3];
  if (getloadavg(load, 3) == 3) m.load_avg.assign(load, load + 3);
  const ToolInfo tool = describe_tool();
  if (const char* label = std::getenv("AIWAY_MACHINE_LABEL")) m.label = label;
  // What makes two results comparable: the hardware, kernel and build; not the hostname.
  std::string identity = fmt::format("{}|{}|{}|{}|{}|{}|{}", m.cpu_model, m.logical_cpus, m.memory_bytes >> 30,
                                     m.kernel, tool.compiler, tool.build_type, tool.allocator);
  if (!m.label.empty()) identity += "|" + m.label;  // unlabelled machines keep the fingerprints they had
  m.fingerprint = fmt::format("{:016x}", XXH3_64bits(identity.data(), identity.size()));
  return m;
}

}  // namespace aiway
