// merge: runs of one workload from several processes or machines (shards)
// combined into one result, latency from the merged histograms.
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "app/commands.hpp"
#include "files/output_file.hpp"
#include "results/pool.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

// Shards bound to a common start: how far apart their starts can be, beside
// the latencies that carry it (the latest shard's lateness, the largest
// clock error bound, over every repetition).
std::string common_start_note(const ScenarioResult& s) {
  std::optional<double> late, error;
  for (const Repetition& r : s.repetitions) {
    if (const auto v = r.metrics.get("common_start_late_us")) late = std::max(late.value_or(0), *v);
    if (const auto v = r.metrics.get("clock_error_bound_us")) error = std::max(error.value_or(0), *v);
  }
  if (!late) return {};
  // The kernel's largest bound: no time daemon disciplines some machine's clock.
  constexpr double kUnsynchronisedUs = 16e6;
  const std::string bound = error.value_or(kUnsynchronisedUs) >= kUnsynchronisedUs
                                ? "clock error unbounded (a shard's clock is not synchronised)"
                                : fmt::format("clock error bound {:.1f} ms", *error / 1e3);
  return fmt::format("; the shards' common start: latest shard {:.1f} ms late, {}", *late / 1e3, bound);
}

class MergeCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("merge", "Combine runs of one workload from several processes or machines into one result");
    command_->add_option("files", files_, "Results files (of one workload each scenario)")->required()->check(kPath);
    command_->add_option("--out", out_, "Write the merged results JSON here")->required()->check(kPath);
  }
  int run(const AppContext&) override {
    check_outputs({{"--out", out_}}, files_);
    std::vector<RunResults> runs;
    for (const auto& file : files_) runs.push_back(load_results_file(file));
    const RunResults merged = merge_runs(std::move(runs), files_);
    write_file_atomically(out_, results_json_text(merged));
    for (const auto& s : merged.scenarios) {
      if (!s.merged) {
        std::cout << fmt::format("{}: {} repetitions (no latency measured)\n", s.scenario.name, s.repetitions.size());
        continue;
      }
      const MergedLatency& m = *s.merged;
      std::cout << fmt::format("{}: {} repetitions from {} run{}, {} latencies: p50 {:.1f} us  p90 {:.1f} us  "
                               "p99 {:.1f} us  p99.9 {:.1f} us  max {:.1f} us (from the merged histogram){}\n",
                               s.scenario.name, m.repetitions, m.runs, m.runs == 1 ? "" : "s", m.tokens, m.p50_us, m.p90_us,
                               m.p99_us, m.p999_us, m.max_us, common_start_note(s));
    }
    std::cerr << fmt::format("merged results written to {}\n", out_);
    return kPass;
  }

 private:
  std::vector<std::string> files_;
  std::string out_;
};

}  // namespace

std::unique_ptr<Command> make_merge_command() { return std::make_unique<MergeCommand>(); }

}  // namespace aiway::app
