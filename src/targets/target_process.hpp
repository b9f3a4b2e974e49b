// The conductor process under test: started per repetition with the
// environment a conductor expects, watched while it runs, sampled from
// /proc/PID (CPU, RSS), and stopped (SIGTERM, then SIGKILL). Or one already
// running, found by the peer credentials of its socket.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aiway {

// A process's CPU time (user + system, all threads) and RSS from /proc/PID,
// with those of its live descendants (a proxy's worker processes); absent
// once it is gone.
struct ProcSample {
  double cpu_s = 0;
  std::int64_t rss_bytes = 0;
};
std::optional<ProcSample> sample_process(pid_t pid);
// Whether any thread of the process or its descendants is running or waiting for a CPU
// (state R in /proc/PID/task/*/stat); absent once it is gone. A thread that
// polls instead of sleeping is always runnable, however little CPU a busy
// machine leaves it: this sees busy polling where a CPU share cannot.
std::optional<bool> any_thread_runnable(pid_t pid);

// A private folder per repetition (mode 0700, removed with everything in it):
// no other run's socket or config file is ever replaced.
class PrivateFolder {
 public:
  PrivateFolder();
  ~PrivateFolder();
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

// This binary's path ({self} in a target command).
std::string this_program();
// Every "{key}" of `values` replaced in text.
std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

// How often the target had a runnable thread, between two snapshots.
struct RunnableCount {
  std::uint64_t samples = 0, runnable = 0;
  double share_since(const RunnableCount& from) const {
    return samples > from.samples ? double(runnable - from.runnable) / double(samples - from.samples) : 0;
  }
};

// Samples a target while it runs, every interval: peak RSS, and whether a
// thread of it is runnable (busy polling shows even when other work takes the CPUs).
class ProcessSampler {
 public:
  ProcessSampler(pid_t pid, double interval_ms);
  ~ProcessSampler() { stop(); }
  ProcessSampler(const ProcessSampler&) = delete;
  ProcessSampler& operator=(const ProcessSampler&) = delete;
  RunnableCount counts() const;
  std::int64_t stop();  // the peak RSS seen

 private:
  pid_t pid_;
  std::int64_t interval_ns_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> peak_{0};
  std::atomic<std::uint64_t> samples_{0}, runnable_{0};
  std::thread thread_;
};

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
  // Waits up to ms for it to end; true if it has.
  bool ends_within(double ms);
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
