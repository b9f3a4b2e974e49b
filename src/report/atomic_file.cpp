#include "report/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aiway {
namespace {

std::filesystem::path temporary_beside(const std::filesystem::path& path) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  return dir / fmt::format(".{}.tmp.{}", path.filename().string(), getpid());
}

int open_temporary(const std::filesystem::path& path, const std::filesystem::path& tmp) {
  if (std::filesystem::is_directory(path))
    throw OutputError(fmt::format("{}: is a directory", path.string()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw OutputError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(errno)));
  return fd;
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const auto tmp = temporary_beside(path);
  const int fd = open_temporary(path, tmp);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw OutputError(fmt::format("{}: write failed: {}", path.string(), std::strerror(error)));
    }
    data += n;
    left -= std::size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_error = synced ? errno : error;
    ::unlink(tmp.c_str());
    throw OutputError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(rename_error)));
  }
}

void check_writable(const std::filesystem::path& path) {
  const auto tmp = temporary_beside(path);
  ::close(open_temporary(path, tmp));
  ::unlink(tmp.c_str());
}

}  // namespace aiway
