#include "run/run_plan.hpp"

#include <deque>

#include "run/worker_processes.hpp"

namespace aiway {

void execute(const RunPlan& plan, const Clock& clock, bool& interrupted,
             const std::function<void(ScenarioResult)>& on_result) {
  RunOptions options;
  options.interrupt = plan.interrupt;
  options.on_event = plan.on_event;
  if (plan.processes > 1) {
    WorkerPlan workers{plan.scenarios, plan.processes, plan.interleave, plan.interrupt, nullptr};
    workers.on_process_started = plan.on_process_started;
    for (auto& r : run_in_worker_processes(workers, interrupted)) {
      finalize_result(r, interrupted);
      on_result(std::move(r));
    }
  } else if (plan.interleave) {
    std::deque<ScenarioRun> runs;
    for (const auto& s : plan.scenarios) runs.emplace_back(s, clock, options);
    for (bool more = true; more && !interrupted;) {
      more = false;
      for (auto& run : runs) {
        more |= run.step(/*fresh_heap=*/true);
        if (run.interrupted()) {
          interrupted = true;
          break;
        }
      }
    }
    for (auto& run : runs) on_result(std::move(run).finish());
  } else {
    for (const auto& s : plan.scenarios) {
      if (interrupted) break;
      on_result(run_scenario(s, clock, options, interrupted));
    }
  }
}

}  // namespace aiway
