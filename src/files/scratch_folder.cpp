#include "files/scratch_folder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "files/input_file.hpp"

namespace aiway {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMarkerWord = "aiway-stress-scratch";

// Field 22 of /proc/PID/stat: when the process started, in clock ticks after
// boot. With the pid it names one process for good: a pid reused later has
// another start time. None for a process that has ended, a zombie included
// (killed, not yet reaped: it runs no more).
std::optional<std::uint64_t> start_time_of(long pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return std::nullopt;
  if (line[close + 2] == 'Z' || line[close + 2] == 'X') return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) {
      std::uint64_t ticks = 0;
      const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), ticks);
      if (ec == std::errc() && end == field.data() + field.size()) return ticks;
    }
  return std::nullopt;
}

// "aiway-stress-scratch PID START\n" exactly; anything else is not our marker.
std::optional<std::pair<long, std::uint64_t>> read_marker(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  char text[96] = {};
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  std::istringstream in(std::string(text, std::size_t(n)));
  std::string word;
  long pid = 0;
  std::uint64_t start = 0;
  if (!(in >> word >> pid >> start) || word != kMarkerWord || pid <= 0) return std::nullopt;
  return std::pair{pid, start};
}

bool maker_is_gone(long pid, std::uint64_t start) {
  const std::optional<std::uint64_t> now = start_time_of(pid);
  return !now || *now != start;
}

}  // namespace

fs::path temporary_base() {
  const char* base = std::getenv("TMPDIR");
  return base && *base ? base : "/tmp";
}

std::size_t remove_stale_scratch_folders(const fs::path& base) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("aiway-stress-")) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    const auto marker = read_marker(entry.path() / kScratchMarker);
    if (!marker) continue;
    // The name carries the same pid: a marker copied into another folder does not count.
    if (name.rfind(fmt::format("aiway-stress-{}-", marker->first), 0) != 0) continue;
    if (marker->first == ::getpid() || !maker_is_gone(marker->first, marker->second)) continue;
    std::error_code remove_error;
    fs::remove_all(entry.path(), remove_error);
    if (!remove_error) ++removed;
  }
  return removed;
}

ScratchFolder::ScratchFolder() {
  const fs::path base = temporary_base();
  remove_stale_scratch_folders(base);
  std::string pattern = (base / fmt::format("aiway-stress-{}-XXXXXX", ::getpid())).string();
  if (!::mkdtemp(pattern.data()))
    throw InputError(fmt::format("{}: cannot create a temporary folder there: {} (set TMPDIR to a writable folder)",
                                 base.string(), std::strerror(errno)));
  path_ = pattern;
  const std::optional<std::uint64_t> start = start_time_of(::getpid());
  std::ofstream marker(path_ / kScratchMarker);
  marker << fmt::format("{} {} {}\n", kMarkerWord, ::getpid(), start.value_or(0));
  if (!marker.flush()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
    throw InputError(fmt::format("{}: cannot write in the temporary folder", path_.string()));
  }
}

ScratchFolder::~ScratchFolder() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace aiway
