#include "run/worker_processes.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "results/pool.hpp"
#include "files/output_file.hpp"
#include "results/results_json.hpp"
#include "scenario/scenario_toml.hpp"

extern char** environ;

namespace aiway {
namespace fs = std::filesystem;

void bind_to_parent() {
  const char* given = std::getenv("AIWAY_PARENT_PID");
  if (!given) return;
  const std::string parent = given;
  // Only this process is the worker: a conductor or proxy it starts (which may
  // be this very binary, `{self} conductor`) must not bind itself to us.
  ::unsetenv("AIWAY_PARENT_PID");
  // The parent's death (kill -9, a cancelled CI job) sends this worker SIGTERM,
  // which it handles as a stop: it ends instead of running on as an orphan.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != pid_t(std::strtol(parent.c_str(), nullptr, 10))) std::raise(SIGTERM);  // it died before prctl
}

std::uint32_t repetitions_for_worker(std::uint32_t repetitions, std::uint32_t processes, std::uint32_t worker) {
  return repetitions / processes + (worker < repetitions % processes ? 1 : 0);
}

std::vector<ScenarioResult> run_in_worker_processes(const WorkerPlan& plan, bool& interrupted) {
  std::vector<ScenarioResult> results(plan.scenarios.size());
  for (std::size_t i = 0; i < results.size(); ++i) results[i].scenario = plan.scenarios[i];
  // A scenario that failed in a worker (timeout, stall) runs no more; one whose
  // worker died goes on in the next workers.
  std::vector<bool> scenario_failed(results.size(), false);
  const ScratchFolder dir;
  const std::string exe = own_executable().string();
  for (std::uint32_t worker = 0; worker < plan.processes; ++worker) {
    std::vector<std::string> args = {exe, "--scenarios-dir", dir.path().string(), "run", "--quiet"};
    std::vector<std::size_t> scenario_of;  // the worker's n-th scenario is plan.scenarios[scenario_of[n]]
    for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
      Scenario share = plan.scenarios[i];
      share.repetitions = repetitions_for_worker(share.repetitions, plan.processes, worker);
      if (share.repetitions == 0 || scenario_failed[i]) continue;
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
    const ProcessEnd end = run_process(args, plan.interrupt);
    std::error_code ec;
    // A worker that died, refused its scenarios or left no results costs its
    // own repetitions, never the others': each scenario it owed says so.
    if (end.signal != 0 || end.code == 2 || !fs::exists(out, ec)) {
      for (const std::size_t i : scenario_of) {
        const std::uint32_t owed = repetitions_for_worker(plan.scenarios[i].repetitions, plan.processes, worker);
        const std::string what = fmt::format("worker process {} {}{}: its {} repetition{} lost", worker + 1, end.describe(),
                                             end.signal == 0 && end.code != 2 ? " and wrote no results" : "", owed,
                                             owed == 1 ? " was" : "s were");
        if (results[i].failure.empty()) results[i].failure = what;
        else results[i].failure += "; " + what;
      }
      if (plan.interrupt && plan.interrupt->load()) {
        interrupted = true;
        break;
      }
      continue;
    }
    const int code = end.code;
    RunResults part = load_results_file(out.string());
    for (std::size_t n = 0; n < part.scenarios.size() && n < scenario_of.size(); ++n) {
      ScenarioResult& into = results[scenario_of[n]];
      ScenarioResult& from = part.scenarios[n];
      if (!from.failure.empty()) {
        scenario_failed[scenario_of[n]] = true;
        const std::string what = fmt::format("worker process {}: {}", worker + 1, from.failure);
        into.failure = into.failure.empty() ? what : into.failure + "; " + what;
      }
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
