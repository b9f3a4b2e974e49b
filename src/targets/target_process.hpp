// The conductor process under test: started per repetition with the
// environment a conductor expects, watched while it runs, sampled from
// /proc/PID (CPU, RSS), and stopped (SIGTERM, then SIGKILL). Or one already
// running, found by the peer credentials of its socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aiway {

// A process's CPU time (user + system, all threads) and RSS from /proc/PID;
// absent once it is gone.
struct ProcSample {
  double cpu_s = 0;
  std::int64_t rss_bytes = 0;
};
std::optional<ProcSample> sample_process(pid_t pid);
// Whether any of the process's threads is running or waiting for a CPU
// (state R in /proc/PID/task/*/stat); absent once it is gone. A thread that
// polls instead of sleeping is always runnable, however little CPU a busy
// machine leaves it: this sees busy polling where a CPU share cannot.
std::optional<bool> any_thread_runnable(pid_t pid);

class TargetProcess {
 public:
  // Starts argv with env added to this process's environment; stdout and
  // stderr go to a file kept for the failure message. Throws
  // std::runtime_error when it cannot be started (no such program).
  TargetProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~TargetProcess();  // stops it if still running
  TargetProcess(const TargetProcess&) = delete;
  TargetProcess& operator=(const TargetProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while it runs (reaps it once it ended).
  bool running();
  // SIGTERM, then SIGKILL after grace_ms; describes how it ended.
  void stop(double grace_ms);
  // "exit 0", "exit 3", "killed by SIGSEGV", "still running"; and the numeric
  // form for the metrics: the exit code, or -signal.
  std::string how_it_ended() const;
  std::optional<int> exit_value() const { return exit_value_; }
  bool needed_kill() const { return killed_; }
  // The last lines of what it wrote (stdout and stderr), for messages.
  std::string output_tail(std::size_t max_bytes = 2000) const;

 private:
  void reap(int status);

  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_value_;
  std::string ended_;
  bool killed_ = false;
};

}  // namespace aiway
