// A process under test (a conductor, a proxy): started per repetition with the
// environment a conductor expects, watched while it runs, sampled from
// /proc/PID (CPU, RSS), and stopped (SIGTERM, then SIGKILL). Or one already
// running, found by the peer credentials of its socket.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
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
  // stderr go to target.log in `folder` (the repetition's scratch folder,
  // so nothing is left behind however the run ends), kept for the failure
  // message. Throws std::runtime_error when it cannot be started (no such program).
  TargetProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                const std::filesystem::path& folder);
  ~TargetProcess();  // stops it if still running
  TargetProcess(const TargetProcess&) = delete;
  TargetProcess& operator=(const TargetProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while it runs (reaps it once it ended).
  bool running();
  // Waits up to ms for it to end; true if it has.
  bool ends_within(double ms);
  // SIGTERM, then SIGKILL after grace_ms; describes how it ended. Then ends
  // every process the target left behind (a daemon that forked away).
  void stop(double grace_ms);
  // Ends the processes the target started that outlived it or left its
  // group (they were re-parented to this process, a child subreaper), and
  // names them in how_it_ended().
  void end_strays(double grace_ms);
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
  std::vector<pid_t> children_before_;  // this process's children before the target started
  std::string strays_;                  // "nginx (pid 123), ..." ended by end_strays
};

}  // namespace aiway
