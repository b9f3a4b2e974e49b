#include "run/ab.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "aiway/input_error.hpp"
#include "run/worker_processes.hpp"
#include "results/pool.hpp"
#include "results/results_json.hpp"

namespace aiway {

namespace fs = std::filesystem;

std::string resolve_binary(const std::string& given, const char* which) {
  std::error_code ec;
  fs::path path = given;
  if (fs::is_directory(path, ec)) path /= "aiway-stress";
  if (!fs::is_regular_file(path, ec) || ::access(path.c_str(), X_OK) != 0)
    throw InputError(fmt::format("{} {}: not an aiway-stress binary or a build folder holding one", which, given));
  return fs::absolute(path, ec).string();
}

AbOutcome run_ab(const AbPlan& plan) {
  AbOutcome out;
  const ScratchFolder dir;
  std::vector<RunResults> sides[2];
  std::vector<std::string> sources[2];
  const std::string* binaries[2] = {&plan.old_binary, &plan.new_binary};
  const char* names[2] = {"old", "new"};
  for (std::uint32_t i = 0; i < plan.repetitions && !out.interrupted; ++i) {
    // ABBA: even rounds old first, odd rounds new first.
    for (int k = 0; k < 2; ++k) {
      const int side = (i % 2 == 0) ? k : 1 - k;
      const fs::path file = dir.path() / fmt::format("{}-{}.json", names[side], i);
      std::vector<std::string> args = {*binaries[side], "--scenarios-dir", plan.scenarios_dir.string(), "run"};
      args.insert(args.end(), plan.run_args.begin(), plan.run_args.end());
      args.insert(args.end(), {"-r", "1", "--warmup", std::to_string(plan.warmup), "-q", "--no-calibrate", "--out", file.string()});
      if (i < plan.counting_processes) args.push_back("--count-instructions");
      const ProcessEnd end = run_process(args, plan.interrupt);
      std::error_code ec;
      if (end.code == 2) throw InputError(fmt::format("the {} binary refused the scenarios (exit 2): run it alone to see why", names[side]));
      if (end.code == 130 || (plan.interrupt && plan.interrupt->load())) {
        out.interrupted = true;
        break;
      }
      if (end.signal != 0 || !fs::exists(file, ec)) {
        out.failures.push_back(fmt::format("{} process {} {}", names[side], i + 1, end.describe()));
        continue;
      }
      RunResults part = load_results_file(file.string());
      if (end.code == 3)
        for (const auto& s : part.scenarios)
          if (!s.failure.empty()) out.failures.push_back(fmt::format("{} process {}: {}: {}", names[side], i + 1, s.scenario.name, s.failure));
      sides[side].push_back(std::move(part));
      sources[side].push_back(file.string());
    }
  }
  for (int side = 0; side < 2; ++side) {
    if (sides[side].empty())
      throw InputError(fmt::format("no {} process completed: nothing to compare", names[side]));
    RunResults pooled = pool_runs(std::move(sides[side]), sources[side]);
    (side == 0 ? out.old_side : out.new_side) = std::move(pooled);
  }
  return out;
}

}  // namespace aiway
