// Work per token, counted: each stage's own instructions, from runs of the
// scenario in a process of this executable under valgrind's callgrind with
// collection switched on only inside the stage calls (pipeline/stage_work.hpp).
// A count of instructions is the same on a busy machine as on a quiet one: the
// figure a nightly job can judge to 1 % where wall-clock figures move by
// tens of percent. It cannot see what makes the same instructions slower
// (cache misses, contention, I/O, scheduling): time still says that.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "aiway/results.hpp"

namespace aiway {

// Runs of a scenario under callgrind: three show whether the count is exact
// (they agree to far better than the 1 % the gate judges), and fit in seconds.
inline constexpr std::uint32_t kCountingRuns = 3;

// The valgrind executable on PATH; empty when there is none.
std::string find_valgrind();
// Before any work: throws InputError (exit 2) naming `command` when there is no valgrind.
void require_valgrind(std::string_view command);

// Counts the scenario's stages in `runs` runs of one repetition each and sets
// instructions_per_token_{backend,conductor,surface} and
// instructions_per_frame_surface on the first `runs` repetitions of `result`
// (a run's counts go with one repetition, as a worker's figures do), then
// finalises the result again. A run that fails sets result.failure; false
// when interrupted. The target must run its stages in this process.
bool count_instructions(ScenarioResult& result, std::uint32_t runs, const std::atomic<bool>* interrupt);

}  // namespace aiway
