#include "files/input_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aiway {

std::string read_input_file(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what) {
  const std::string name = path.string();
  if (name.empty()) throw InputError(fmt::format("an empty path is not a {}", what));
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw InputError(fmt::format("{}: no such {}", name, what));
    if (error == EISDIR) throw InputError(fmt::format("{}: is a directory, not a {}", name, what));
    throw InputError(fmt::format("{}: cannot open the {}: {}", name, what, std::strerror(error)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(fmt::format("{}: cannot read the {}: {}", name, what, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw InputError(fmt::format("{}: is a directory, not a {}", name, what));
  if (!S_ISREG(st.st_mode))
    throw InputError(fmt::format("{}: is not a regular file ({}), not a {}", name,
                                 S_ISFIFO(st.st_mode)  ? "a FIFO"
                                 : S_ISCHR(st.st_mode) ? "a character device"
                                 : S_ISBLK(st.st_mode) ? "a block device"
                                 : S_ISSOCK(st.st_mode) ? "a socket"
                                                        : "a special file",
                                 what));
  if (std::size_t(st.st_size) > max_bytes)
    throw InputError(fmt::format("{}: {} bytes is larger than a {} may be ({} MiB)", name, std::int64_t(st.st_size), what,
                                 max_bytes >> 20));
  // A regular file read to its end; bounded even if it grows while we read.
  std::string text;
  text.resize(std::size_t(st.st_size));
  std::size_t got = 0;
  while (true) {
    if (got == text.size()) {
      if (text.size() >= max_bytes + 1) break;
      text.resize(std::min(max_bytes + 1, text.size() + 65536));
    }
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(fmt::format("{}: cannot read the {}: {}", name, what, std::strerror(errno)));
    if (n == 0) break;
    got += std::size_t(n);
  }
  text.resize(got);
  if (got > max_bytes)
    throw InputError(fmt::format("{}: larger than a {} may be ({} MiB)", name, what, max_bytes >> 20));
  return text;
}

}  // namespace aiway
