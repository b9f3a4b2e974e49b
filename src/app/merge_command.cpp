// merge: runs of one workload from several processes or machines (shards)
// combined into one result, latency from the merged histograms.
#include <fmt/format.h>

#include <iostream>

#include "app/commands.hpp"
#include "files/output_file.hpp"
#include "results/pool.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

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
                               "p99 {:.1f} us  p99.9 {:.1f} us  max {:.1f} us (from the merged histogram)\n",
                               s.scenario.name, m.repetitions, m.runs, m.runs == 1 ? "" : "s", m.tokens, m.p50_us, m.p90_us,
                               m.p99_us, m.p999_us, m.max_us);
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
