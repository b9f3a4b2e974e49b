#include "cli/worker_processes.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "compare/pool.hpp"
#include "files/output_file.hpp"
#include "report/results_json.hpp"
#include "report/scenario_toml.hpp"

extern char** environ;

namespace aiway {
namespace {

namespace fs = std::filesystem;

// A private folder for the workers' scenario and results files, removed after.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/aiway-stress-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(pattern.data())) throw std::runtime_error(fmt::format("cannot create a folder from {}", pattern));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path own_executable() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error(fmt::format("cannot find this executable (/proc/self/exe): {}", ec.message()));
  return exe;
}

// Starts the worker in a process group of its own, so a ^C at the terminal
// reaches only this process, which passes it on once (a second SIGINT would
// make the worker leave without writing its results).
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw std::runtime_error(fmt::format("cannot start a worker process: {}", std::strerror(error)));
  return pid;
}

int wait_for(pid_t pid, const std::atomic<bool>* interrupt) {
  bool forwarded = false;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      throw std::runtime_error(fmt::format("a worker process died of signal {}", WTERMSIG(status)));
    }
    if (done < 0 && errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
    if (interrupt && interrupt->load() && !forwarded) {
      kill(pid, SIGINT);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::uint32_t repetitions_for_worker(std::uint32_t repetitions, std::uint32_t processes, std::uint32_t worker) {
  return repetitions / processes + (worker < repetitions % processes ? 1 : 0);
}

std::vector<ScenarioResult> run_in_worker_processes(const WorkerPlan& plan, bool& interrupted) {
  std::vector<ScenarioResult> results(plan.scenarios.size());
  for (std::size_t i = 0; i < results.size(); ++i) results[i].scenario = plan.scenarios[i];
  const TempDir dir;
  const std::string exe = own_executable().string();
  for (std::uint32_t worker = 0; worker < plan.processes; ++worker) {
    std::vector<std::string> args = {exe, "--scenarios-dir", dir.path().string(), "run", "--quiet"};
    std::vector<std::size_t> scenario_of;  // the worker's n-th scenario is plan.scenarios[scenario_of[n]]
    for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
      Scenario share = plan.scenarios[i];
      share.repetitions = repetitions_for_worker(share.repetitions, plan.processes, worker);
      if (share.repetitions == 0 || !results[i].failure.empty()) continue;
      const fs::path file = dir.path() / fmt::format("w{}-s{}.toml", worker, i);
      write_file_atomically(file, scenario_to_toml(share));
      args.insert(args.end(), {"--scenario", file.string()});
      scenario_of.push_back(i);
    }
    if (scenario_of.empty()) continue;
    const fs::path out = dir.path() / fmt::format("w{}.json", worker);
    args.insert(args.end(), {"--out", out.string()});
    if (plan.interleave) args.push_back("--interleave");

    if (plan.on_process_started) plan.on_process_started(worker + 1, plan.processes);
    const int code = wait_for(spawn(args), plan.interrupt);
    if (code == 2) throw std::runtime_error(fmt::format("worker {} rejected its scenarios (exit 2)", worker + 1));
    std::error_code ec;
    if (!fs::exists(out, ec))
      throw std::runtime_error(fmt::format("worker {} exited with {} and wrote no results", worker + 1, code));
    RunResults part = load_results_file(out.string());
    for (std::size_t n = 0; n < part.scenarios.size() && n < scenario_of.size(); ++n) {
      ScenarioResult& into = results[scenario_of[n]];
      ScenarioResult& from = part.scenarios[n];
      if (!from.failure.empty() && into.failure.empty())
        into.failure = fmt::format("worker process {}: {}", worker + 1, from.failure);
      append_repetitions(into, std::move(from));
    }
    if (part.interrupted || code == 130) {
      interrupted = true;
      break;
    }
    if (plan.interrupt && plan.interrupt->load()) {
      interrupted = true;
      break;
    }
  }
  return results;
}

}  // namespace aiway
