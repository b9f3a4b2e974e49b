#include "files/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aiway {
namespace fs = std::filesystem;
namespace {

// Where the content really goes: a symlink's final target, the path otherwise.
// Throws when the path exists and is not a regular file.
fs::path resolve_output(const fs::path& path) {
  if (path.empty()) throw OutputError("an output path is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw OutputError(fmt::format("{}: exists and is not a regular file ({}): refusing to replace it", path.string(),
                                    S_ISDIR(st.st_mode)    ? "a directory"
                                    : S_ISCHR(st.st_mode)  ? "a character device"
                                    : S_ISBLK(st.st_mode)  ? "a block device"
                                    : S_ISFIFO(st.st_mode) ? "a FIFO"
                                    : S_ISSOCK(st.st_mode) ? "a socket"
                                                           : "not a file"));
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      std::error_code ec;
      const fs::path target = fs::canonical(path, ec);
      if (ec) throw OutputError(fmt::format("{}: cannot follow the symlink: {}", path.string(), ec.message()));
      return target;
    }
  } else if (errno != ENOENT) {
    throw OutputError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
  } else {
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0)  // a dangling symlink: writing would create a file elsewhere
      throw OutputError(fmt::format("{}: is a symlink to nothing: refusing to write through it", path.string()));
  }
  return path;
}

fs::path folder_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// A new temporary file in `dir`: ".aiway-" + 16 random hex digits + ".tmp".
std::pair<int, fs::path> create_temporary(const fs::path& dir, const fs::path& target) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = std::uint64_t(getpid()) * 0x9E3779B97F4A7C15u ^ std::uint64_t(attempt);
    const fs::path tmp = dir / fmt::format(".aiway-{:016x}.tmp", r);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return {fd, tmp};
    if (errno != EEXIST)
      throw OutputError(fmt::format("{}: cannot write in {}: {}", target.string(), dir.string(), std::strerror(errno)));
  }
  throw OutputError(fmt::format("{}: cannot create a temporary file in {}", target.string(), dir.string()));
}

void sync_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const fs::path& requested, std::string_view content) {
  const fs::path path = resolve_output(requested);
  const fs::path dir = folder_of(path);
  const auto [fd, tmp] = create_temporary(dir, requested);
  // A file it replaces keeps its mode (a private file stays private) and,
  // where this process may, its owner and group.
  struct stat previous {};
  if (::stat(path.c_str(), &previous) == 0 && S_ISREG(previous.st_mode)) {
    ::fchmod(fd, previous.st_mode & 07777);
    if (previous.st_uid != ::geteuid() || previous.st_gid != ::getegid())
      [[maybe_unused]] const int ignored = ::fchown(fd, previous.st_uid, previous.st_gid);
  }
  const char* data = content.data();
  std::size_t left = content.size();
  auto fail = [&, fd = fd, tmp = tmp](const char* what, int error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("{}: {}: {}", requested.string(), what, std::strerror(error)));
  };
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write failed", n < 0 ? errno : ENOSPC);
    data += n;
    left -= std::size_t(n);
  }
  if (::fsync(fd) != 0) fail("cannot write", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("{}: cannot write: {}", requested.string(), std::strerror(error)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("{}: cannot write: {}", requested.string(), std::strerror(error)));
  }
  sync_folder(dir);
}

void check_writable(const fs::path& requested) {
  const fs::path path = resolve_output(requested);
  if (path.filename().string().size() > NAME_MAX)
    throw OutputError(fmt::format("{}: the file name is longer than {} bytes", requested.string(), NAME_MAX));
  const auto [fd, tmp] = create_temporary(folder_of(path), requested);
  ::close(fd);
  ::unlink(tmp.c_str());
}

void check_outputs(const std::vector<OutputPath>& outputs, const std::vector<std::string>& inputs, bool allow_stdout) {
  struct Seen {
    std::string option, path;
    dev_t dev;
    ino_t ino;
    fs::path canonical;
  };
  std::vector<Seen> seen;
  auto identity = [](const std::string& path) {
    struct stat st {};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    if (ec) canonical = fs::absolute(path, ec);
    return std::tuple{exists, st.st_dev, st.st_ino, canonical};
  };
  auto same = [](const Seen& a, bool exists, dev_t dev, ino_t ino, const fs::path& canonical) {
    return (exists && a.dev == dev && a.ino == ino && a.ino != 0) || a.canonical == canonical;
  };
  for (const auto& input : inputs) {
    if (input.empty() || input == "-") continue;
    const auto [exists, dev, ino, canonical] = identity(input);
    seen.push_back({"input", input, exists ? dev : 0, exists ? ino : 0, canonical});
  }
  const std::size_t n_inputs = seen.size();
  for (const auto& out : outputs) {
    if (out.path.empty()) continue;
    if (out.path == "-") {
      if (!allow_stdout) throw OutputError(fmt::format("{} -: standard output is not a place for this output", out.option));
      continue;
    }
    check_writable(out.path);
    const auto [exists, dev, ino, canonical] = identity(out.path);
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (same(seen[i], exists, dev, ino, canonical))
        throw OutputError(i < n_inputs ? fmt::format("{} {}: is also an input of this command: refusing to overwrite it",
                                                     out.option, out.path)
                                       : fmt::format("{} {}: is also the file of {}: two outputs cannot share a file",
                                                     out.option, out.path, seen[i].option));
    seen.push_back({out.option, out.path, exists ? dev : 0, exists ? ino : 0, canonical});
  }
}

}  // namespace aiway
