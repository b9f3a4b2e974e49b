#include "targets/process/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace aiway {
namespace {

namespace fs = std::filesystem;

// Starts the child in a process group of its own, so a ^C at the terminal
// reaches only this process, which passes it on once (a second SIGINT would
// make a worker leave without writing its results).
pid_t spawn(const std::vector<std::string>& args, const fs::path& out) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The worker learns its parent, so it can end with it (see bind_to_parent).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "AIWAY_PARENT_PID=", 17) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(fmt::format("AIWAY_PARENT_PID={}", getpid()));
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.empty() ? "/dev/null" : out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", args[0], std::strerror(error)));
  return pid;
}

}  // namespace

static ProcessEnd wait_for_process(pid_t pid, const std::atomic<bool>* interrupt) {
  bool forwarded = false;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return {WEXITSTATUS(status), 0};
      return {-1, WTERMSIG(status)};
    }
    if (done < 0 && errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
    if (interrupt && interrupt->load() && !forwarded) {
      kill(pid, SIGINT);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ProcessEnd run_process(const std::vector<std::string>& args, const std::atomic<bool>* interrupt, const fs::path& out) {
  return wait_for_process(spawn(args, out), interrupt);
}

fs::path own_executable() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error(fmt::format("cannot find this executable (/proc/self/exe): {}", ec.message()));
  return exe;
}

std::string ProcessEnd::describe() const {
  if (signal == 0) return fmt::format("exited with {}", code);
  const char* name = sigabbrev_np(signal);
  return fmt::format("died of signal {} (SIG{})", signal, name ? name : "?");
}

}  // namespace aiway
