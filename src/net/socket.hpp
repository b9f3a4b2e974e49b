// Blocking sockets with bounded waits: every read and write of the target
// machinery waits with poll() and a deadline, never for ever, so a peer that
// stops reading or writing costs a timeout, not a hang. Errors are returned
// as values (errno-style); nothing here throws but the constructors of
// listening sockets, whose failure is the caller's configuration error.
#pragma once

#include <atomic>
#include <cstdint>
#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>

namespace aiway::net {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

enum class IoStatus { ok, timeout, closed, error, stopped };
std::string_view to_string(IoStatus status);

// Writes all of `data` within timeout_ms (0: no limit). MSG_NOSIGNAL: a peer
// that went away is an error, not a SIGPIPE.
IoStatus send_all(int fd, std::string_view data, double timeout_ms, const std::atomic<bool>* stop = nullptr);
// Reads what is there (at most `capacity` bytes) once the socket is readable;
// waits at most timeout_ms, in slices so that `stop` is honoured.
IoStatus receive_some(int fd, char* buffer, std::size_t capacity, std::size_t& received, double timeout_ms,
                      const std::atomic<bool>* stop = nullptr);

// sun_path holds 107 bytes and a NUL.
inline constexpr std::size_t kMaxUnixPath = 107;
// Connects to a Unix stream socket; an invalid Fd (errno set) when nothing listens.
Fd connect_unix(const std::string& path);
// Makes `path` free for a new socket, or throws InputError saying why it may
// not be used: its folder is missing, it is a folder or a file that is not a
// socket (never deleted), or a process listens on it (never taken). Only a
// stale socket, one that refuses connections, is removed.
void claim_unix_socket_path(const std::string& path);
// claim_unix_socket_path, then bind and listen (mode 0600); throws InputError
// for the path, std::runtime_error for the rest.
Fd listen_unix(const std::string& path, int backlog);
// A socket file's identity, so its owner removes the one it bound and never
// one another process bound at the same path since (0, 0: none there).
struct SocketFileId {
  std::uint64_t device = 0, inode = 0;
};
SocketFileId socket_file_id(const std::string& path);
void remove_socket_file(const std::string& path, SocketFileId bound);
// The peer's process id (SO_PEERCRED); 0 when unknown.
int peer_pid(int fd);
// The user id of a TCP peer on the loopback (netlink sock_diag, an exact
// lookup of its socket); none for a peer elsewhere, whose user this machine
// cannot know, or when the kernel does not say.
std::optional<unsigned> loopback_peer_uid(int fd);
unsigned peer_uid(int fd);

// An IPv4 address for host (a name or a dotted quad); false when it has none.
bool resolve_ipv4(const std::string& host, std::uint16_t port, sockaddr_in& out);
// host:port (port 0: any free port); throws std::runtime_error.
Fd listen_tcp(const std::string& host, std::uint16_t port, int backlog);
std::uint16_t local_port(int fd);
Fd connect_tcp(const std::string& host, std::uint16_t port, double timeout_ms);
// Closes with a TCP reset instead of a FIN (SO_LINGER 0): a connection torn mid-stream.
void reset_connection(Fd& fd);

// Raises this process's soft limit on open descriptors to its hard limit
// (a run of thousands of streams holds two per stream here, and the soft
// limit is often 1,024) and returns the hard limit.
std::uint64_t raise_descriptor_limit();

// Accepts one connection within timeout_ms; invalid Fd on timeout or stop.
Fd accept_within(int listener, double timeout_ms, const std::atomic<bool>* stop = nullptr);

}  // namespace aiway::net
