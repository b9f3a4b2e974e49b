#include "run/instruction_count.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "aiway/input_error.hpp"
#include "files/input_file.hpp"
#include "files/output_file.hpp"
#include "files/scratch_folder.hpp"
#include "measure/callgrind_output.hpp"
#include "pipeline/stage_work.hpp"
#include "results/results_json.hpp"
#include "run/runner.hpp"
#include "scenario/scenario_toml.hpp"
#include "targets/process/child_process.hpp"

namespace aiway {
namespace fs = std::filesystem;

namespace {

// Callgrind runs the stages some ten times slower, and collection off costs
// little: a repetition's time limits stretch by this much.
constexpr double kSlowdown = 50;
constexpr std::size_t kMaxCallgrindFileBytes = std::size_t(256) << 20;

struct StageCounts {
  std::uint64_t backend = 0, conductor = 0, surface = 0, frames_work = 0;
  double tokens = 0, frames = 0;
};

// The scenario as the counting run takes it: one repetition, no warm-up,
// nothing taken again for other work (it cannot change a count), time limits
// stretched for valgrind.
Scenario counting_scenario(Scenario s) {
  s.repetitions = 1;
  s.warmup = 0;
  s.measure.rerun_disturbed = 0;
  s.timeout_s *= kSlowdown;
  s.stall_timeout_s *= kSlowdown;
  return s;
}

std::vector<std::string> callgrind_command(const std::string& valgrind, const fs::path& dir) {
  return {valgrind,
          "--tool=callgrind",
          "--quiet",
          fmt::format("--callgrind-out-file={}", (dir / "callgrind.out").string()),
          "--collect-atstart=no",
          fmt::format("--toggle-collect={}*", stage_work::kStageWork),
          fmt::format("--toggle-collect={}*", stage_work::kHarness),
          "--compress-strings=no",
          "--compress-pos=no"};
}

// One counting run; the failure in words when it did not give counts.
std::optional<StageCounts> counting_run(const std::string& valgrind, const Scenario& scenario,
                                        const std::atomic<bool>* interrupt, std::string& failure) {
  const ScratchFolder dir;
  const fs::path scenario_file = dir.path() / "scenario.toml", out = dir.path() / "results.json";
  write_file_atomically(scenario_file, scenario_to_toml(counting_scenario(scenario)));
  std::vector<std::string> args = callgrind_command(valgrind, dir.path());
  for (const std::string& a : {own_executable().string(), std::string("--scenarios-dir"), dir.path().string(),
                               std::string("run"), std::string("--quiet"), std::string("--no-calibrate"),
                               std::string("--scenario"), scenario_file.string(), std::string("--out"), out.string()})
    args.push_back(a);
  const ProcessEnd end = run_process(args, interrupt);
  std::error_code ec;
  if (end.signal != 0 || end.code == 2 || !fs::exists(out, ec) || !fs::exists(dir.path() / "callgrind.out", ec)) {
    failure = fmt::format("the counting run under valgrind {} and left no counts", end.describe());
    return std::nullopt;
  }
  const RunResults results = load_results_file(out.string());
  if (results.scenarios.empty() || results.scenarios.front().repetitions.empty()) {
    failure = "the counting run under valgrind measured no repetition";
    return std::nullopt;
  }
  const ScenarioResult& r = results.scenarios.front();
  if (!r.failure.empty()) {
    failure = "the counting run under valgrind: " + r.failure;
    return std::nullopt;
  }
  const CallgrindCounts counts = parse_callgrind_output(
      read_input_file(dir.path() / "callgrind.out", kMaxCallgrindFileBytes, "callgrind output"), "callgrind output");
  const Metrics& m = r.repetitions.front().metrics;
  StageCounts c;
  c.backend = counts.with_prefix(stage_work::kBackend);
  c.conductor = counts.with_prefix(stage_work::kConductor);
  c.surface = counts.with_prefix(stage_work::kSurface);
  c.frames_work = counts.with_prefix(stage_work::kFrame);
  c.tokens = m.get("tokens_sent").value_or(0);
  c.frames = m.get("frames_rendered").value_or(0);
  return c;
}

}  // namespace

std::string find_valgrind() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const fs::path candidate = fs::path(std::string(dirs.substr(0, colon))) / "valgrind";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
  }
  return {};
}

void require_valgrind(std::string_view command) {
  if (find_valgrind().empty())
    throw InputError(fmt::format("{}: --count-instructions runs the stages under valgrind, and there is no valgrind on "
                                 "PATH (Debian: apt-get install valgrind)", command));
}

bool count_instructions(ScenarioResult& result, std::uint32_t runs, const std::atomic<bool>* interrupt) {
  const std::string valgrind = find_valgrind();
  runs = std::min<std::uint32_t>(runs, std::uint32_t(result.repetitions.size()));
  for (std::uint32_t i = 0; i < runs; ++i) {
    if (interrupt && interrupt->load()) return false;
    std::string failure;
    const auto c = counting_run(valgrind, result.scenario, interrupt, failure);
    if (interrupt && interrupt->load()) return false;
    if (!c) {
      result.failure = result.failure.empty() ? failure : result.failure + "; " + failure;
      break;
    }
    if (c->tokens <= 0) continue;  // nothing sent: no figure per token
    Metrics& m = result.repetitions[i].metrics;
    m.set("instructions_per_token_backend", double(c->backend) / c->tokens);
    m.set("instructions_per_token_conductor", double(c->conductor) / c->tokens);
    m.set("instructions_per_token_surface", double(c->surface) / c->tokens);
    if (c->frames > 0) m.set("instructions_per_frame_surface", double(c->frames_work) / c->frames);
  }
  finalize_result(result, false);
  return true;
}

}  // namespace aiway
