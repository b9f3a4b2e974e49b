#include "net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "aiway/input_error.hpp"
#include "measure/clock.hpp"

namespace aiway::net {
namespace {

constexpr double kSliceMs = 50;  // how often a long wait looks at its stop flag

// Waits for `events` on fd until deadline_ns (0: none), honouring stop.
IoStatus wait_for(int fd, short events, std::int64_t deadline_ns, const std::atomic<bool>* stop) {
  for (;;) {
    if (stop && stop->load(std::memory_order_relaxed)) return IoStatus::stopped;
    double slice = kSliceMs;
    if (deadline_ns > 0) {
      const double left_ms = double(deadline_ns - monotonic_ns()) / 1e6;
      if (left_ms <= 0) return IoStatus::timeout;
      slice = std::min(slice, left_ms);
    } else if (!stop) {
      slice = -1;
    }
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, slice < 0 ? -1 : std::max(1, int(slice)));
    if (r > 0) return IoStatus::ok;  // readable, writable, or an error/hang-up the next call reports
    if (r < 0 && errno != EINTR) return IoStatus::error;
  }
}

std::int64_t deadline_after(double timeout_ms) {
  return timeout_ms > 0 ? monotonic_ns() + std::int64_t(timeout_ms * 1e6) : 0;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string_view to_string(IoStatus status) {
  switch (status) {
    case IoStatus::ok: return "ok";
    case IoStatus::timeout: return "timed out";
    case IoStatus::closed: return "closed by the peer";
    case IoStatus::error: return "failed";
    case IoStatus::stopped: return "stopped";
  }
  return "?";
}

IoStatus send_all(int fd, std::string_view data, double timeout_ms, const std::atomic<bool>* stop) {
  const std::int64_t deadline = deadline_after(timeout_ms);
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(std::size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (const IoStatus s = wait_for(fd, POLLOUT, deadline, stop); s != IoStatus::ok) return s;
      continue;
    }
    return errno == EPIPE || errno == ECONNRESET ? IoStatus::closed : IoStatus::error;
  }
  return IoStatus::ok;
}

IoStatus receive_some(int fd, char* buffer, std::size_t capacity, std::size_t& received, double timeout_ms,
                      const std::atomic<bool>* stop) {
  received = 0;
  const std::int64_t deadline = deadline_after(timeout_ms);
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, capacity, MSG_DONTWAIT);
    if (n > 0) {
      received = std::size_t(n);
      return IoStatus::ok;
    }
    if (n == 0) return IoStatus::closed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno == ECONNRESET ? IoStatus::closed : IoStatus::error;
    if (const IoStatus s = wait_for(fd, POLLIN, deadline, stop); s != IoStatus::ok) return s;
  }
}

Fd connect_unix(const std::string& path) {
  if (path.size() > kMaxUnixPath) {
    errno = ENAMETOOLONG;
    return Fd{};
  }
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return Fd{};
  return fd;
}

void claim_unix_socket_path(const std::string& path) {
  if (path.size() > kMaxUnixPath)
    throw InputError(fmt::format("{}: {} bytes: a Unix socket path holds at most {}", path, path.size(), kMaxUnixPath));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) throw InputError(fmt::format("{}: cannot use this socket path: {}", path, std::strerror(errno)));
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    struct stat dir {};
    if (!folder.empty() && ::stat(folder.c_str(), &dir) != 0)
      throw InputError(fmt::format("{}: its folder {} cannot be used: {}", path, folder.string(), std::strerror(errno)));
    if (!folder.empty() && !S_ISDIR(dir.st_mode))
      throw InputError(fmt::format("{}: {} is not a folder", path, folder.string()));
    return;
  }
  if (S_ISDIR(st.st_mode)) throw InputError(fmt::format("{}: is a folder, not a socket path: name a file in it", path));
  if (!S_ISSOCK(st.st_mode))
    throw InputError(fmt::format("{}: exists and is not a socket: refusing to replace it", path));
  // A socket that answers a connect is someone's live conductor: never taken.
  if (connect_unix(path)) throw InputError(fmt::format("{}: a process is listening on this socket: refusing to take it", path));
  if (errno != ECONNREFUSED && errno != ENOENT)
    throw InputError(fmt::format("{}: cannot tell whether this socket is in use ({}): refusing to replace it", path,
                                 std::strerror(errno)));
  ::unlink(path.c_str());  // a stale socket: nobody listens (a run that was killed)
}

Fd listen_unix(const std::string& path, int backlog) {
  claim_unix_socket_path(path);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw InputError(fmt::format("{}: cannot bind: {}", path, std::strerror(errno)));
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), backlog) != 0) throw std::runtime_error(fmt::format("listen on {}: {}", path, std::strerror(errno)));
  return fd;
}

SocketFileId socket_file_id(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  return {std::uint64_t(st.st_dev), std::uint64_t(st.st_ino)};
}

void remove_socket_file(const std::string& path, SocketFileId bound) {
  const SocketFileId now = socket_file_id(path);
  if (bound.inode != 0 && now.device == bound.device && now.inode == bound.inode) ::unlink(path.c_str());
}

namespace {

// The owner of one TCP socket, found by its exact 4-tuple through netlink's
// sock_diag (one lookup in the kernel's hash, not a walk of every socket on
// the machine as /proc/net/tcp is): none when the kernel does not answer.
std::optional<unsigned> tcp_socket_uid(const sockaddr_in& local, const sockaddr_in& remote) {
  const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } query{};
  query.header.nlmsg_len = sizeof query;
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST;
  query.request.sdiag_family = AF_INET;
  query.request.sdiag_protocol = IPPROTO_TCP;
  query.request.idiag_states = ~0u;
  query.request.id.idiag_sport = local.sin_port;  // both in network order, as the kernel keeps them
  query.request.id.idiag_dport = remote.sin_port;
  query.request.id.idiag_src[0] = local.sin_addr.s_addr;
  query.request.id.idiag_dst[0] = remote.sin_addr.s_addr;
  query.request.id.idiag_cookie[0] = query.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  std::optional<unsigned> uid;
  alignas(nlmsghdr) char answer[8192];
  if (::send(nl, &query, sizeof query, 0) == ssize_t(sizeof query)) {
    const ssize_t n = ::recv(nl, answer, sizeof answer, 0);
    const auto* h = reinterpret_cast<const nlmsghdr*>(answer);
    if (n > 0 && NLMSG_OK(h, unsigned(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
      uid = static_cast<const inet_diag_msg*>(NLMSG_DATA(h))->idiag_uid;
  }
  ::close(nl);
  return uid;
}

}  // namespace

std::optional<unsigned> loopback_peer_uid(int fd) {
  sockaddr_in peer{}, self{};
  socklen_t peer_len = sizeof peer, self_len = sizeof self;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 || peer.sin_family != AF_INET) return std::nullopt;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &self_len) != 0) return std::nullopt;
  if ((ntohl(peer.sin_addr.s_addr) >> 24) != 127) return std::nullopt;  // not this machine's: its user is unknown here
  // The peer's own socket: local address the peer's, remote address ours.
  return tcp_socket_uid(peer, self);
}

int peer_pid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
}

unsigned peer_uid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : ~0u;
}

bool resolve_ipv4(const std::string& host, std::uint16_t port, sockaddr_in& out) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || !found) return false;
  out = *reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  out.sin_port = htons(port);
  ::freeaddrinfo(found);
  return true;
}

Fd listen_tcp(const std::string& host, std::uint16_t port, int backlog) {
  sockaddr_in addr{};
  if (!resolve_ipv4(host, port, addr)) throw std::runtime_error(fmt::format("{} is no IPv4 address or host name", host));
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", host, port, std::strerror(errno)));
  if (::listen(fd.get(), backlog) != 0) throw std::runtime_error(fmt::format("listen: {}", std::strerror(errno)));
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

Fd connect_tcp(const std::string& host, std::uint16_t port, double timeout_ms) {
  sockaddr_in addr{};
  if (!resolve_ipv4(host, port, addr)) {
    errno = EHOSTUNREACH;
    return Fd{};
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fd;
  const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno != EINPROGRESS) return Fd{};
  if (rc != 0) {
    if (wait_for(fd.get(), POLLOUT, deadline_after(timeout_ms), nullptr) != IoStatus::ok) {
      errno = ETIMEDOUT;
      return Fd{};
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      return Fd{};
    }
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void reset_connection(Fd& fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

std::uint64_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_max;
}

Fd accept_within(int listener, double timeout_ms, const std::atomic<bool>* stop) {
  if (wait_for(listener, POLLIN, deadline_after(timeout_ms), stop) != IoStatus::ok) return Fd{};
  Fd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (fd) {
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // harmless on a Unix socket
  } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
    // Out of descriptors or memory: the pending connection stays ready, so
    // returning at once would spin the accept loop at a full CPU. Back off.
    sleep_ns(10'000'000);
  }
  return fd;
}

}  // namespace aiway::net
