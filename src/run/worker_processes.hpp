// Repetitions spread over fresh processes of this executable, as pyperf does:
// two processes of one build differ as wholes (heap layout, page placement,
// a neighbour on the machine) while repetitions inside one process agree, so
// a comparison is only honest when its samples include that variation.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "aiway/results.hpp"
#include "aiway/scenario.hpp"
#include "files/scratch_folder.hpp"
#include "targets/process/child_process.hpp"

namespace aiway {

struct WorkerPlan {
  std::vector<Scenario> scenarios;  // resolved; each worker runs its share of every scenario's repetitions
  std::uint32_t processes = 1;
  bool interleave = false;          // passed on to each worker
  const std::atomic<bool>* interrupt = nullptr;
  std::function<void(std::uint32_t process, std::uint32_t count)> on_process_started;
};

// Repetition i of a scenario with `repetitions` goes to worker i mod processes,
// so the first workers take one more when it does not divide evenly.
std::uint32_t repetitions_for_worker(std::uint32_t repetitions, std::uint32_t processes, std::uint32_t worker);

// Runs the plan; returns one result per scenario (repetitions gathered from
// every worker, not yet summarised), stopping early on a failure or an
// interrupt. Throws std::runtime_error when a worker cannot be started or
// leaves no readable results.
std::vector<ScenarioResult> run_in_worker_processes(const WorkerPlan& plan, bool& interrupted);

// In a worker (AIWAY_PARENT_PID set by its parent): end when the parent ends.
void bind_to_parent();

}  // namespace aiway
