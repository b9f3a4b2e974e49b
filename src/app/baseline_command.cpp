#include "app/baseline_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>

#include "aiway/input_error.hpp"
#include "app/commands.hpp"
#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "files/input_file.hpp"
#include "files/output_file.hpp"
#include "results/pool.hpp"
#include "results/results_json.hpp"

namespace aiway::app {

void write_baseline(const RunResults& r, const std::string& text, const std::string& source,
                    const std::string& path) {
  if (r.interrupted) throw ResultsError(fmt::format("{}: an interrupted run is no baseline", source));
  if (r.scenarios.empty()) throw ResultsError(fmt::format("{}: holds no scenario: an empty run is no baseline", source));
  for (const auto& s : r.scenarios)
    if (s.repetitions.empty())
      throw ResultsError(fmt::format("{}: scenario {} has no repetition: it is no baseline", source, s.scenario.name));
  for (std::size_t i = 0; i < r.scenarios.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (r.scenarios[i].scenario.name == r.scenarios[k].scenario.name)
        throw ResultsError(fmt::format("{}: scenario {} appears twice", source, r.scenarios[i].scenario.name));
  for (const auto& s : r.scenarios)
    if (const std::string d = describe_disturbed(disturbance_of(s)); !d.empty())
      std::cerr << fmt::format("aiway-stress: WARNING: baseline scenario {}: {}: comparisons with it will call most of "
                               "its changes inconclusive; take the baseline on a quieter machine\n", s.scenario.name, d);
  write_file_atomically(path, text);
  std::cerr << fmt::format("baseline written to {} ({} scenarios, machine {})\n", path, r.scenarios.size(),
                           r.machine.fingerprint);
}

std::string baseline_path_for(const std::string& name_or_file) {
  if (name_or_file.empty() || name_or_file.find('/') != std::string::npos || name_or_file.ends_with(".json"))
    return name_or_file;
  return "baselines/" + name_or_file + ".json";
}

namespace {

class BaselineCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    auto* baseline = app.add_subcommand("baseline", "Manage baselines");
    update_ = baseline->add_subcommand("update", "Check a results file and store it as a baseline (atomically)");
    baseline->require_subcommand(1);
    update_->add_option("--from", from_,
                        "Results file (from run --out); repeat it to pool several runs' repetitions into one baseline")
        ->check(kPath)
        ->required();
    update_->add_option("--out", out_, "Baseline file to write, e.g. baselines/ci-2cpu.json")->check(kPath)->required();
  }
  bool chosen() const override { return update_->parsed(); }
  int run(const AppContext&) override {
    check_outputs({{"--out", out_}}, from_);
    for (std::size_t i = 0; i < from_.size(); ++i)
      for (std::size_t k = 0; k < i; ++k)
        if (std::filesystem::weakly_canonical(from_[i]) == std::filesystem::weakly_canonical(from_[k]))
          throw InputError(fmt::format("--from {}: given twice: pooling a run with itself would count its "
                                       "repetitions twice",
                                       from_[i]));
    if (from_.size() == 1) {
      // Checked as compare will read it, then written in the compact form baselines take.
      const std::string text = read_input_file(from_[0], kMaxResultsBytes, "results file");
      const RunResults one = results_from_json_text(text, from_[0]);
      write_baseline(one, results_json_text(one, /*compact=*/true), from_[0], out_);
      return kPass;
    }
    std::vector<RunResults> runs;
    for (const auto& file : from_) runs.push_back(load_results_file(file));
    const RunResults pooled = pool_runs(std::move(runs), from_);
    write_baseline(pooled, results_json_text(pooled, /*compact=*/true), fmt::format("{}", fmt::join(from_, ", ")), out_);
    return kPass;
  }

 private:
  CLI::App* update_ = nullptr;
  std::vector<std::string> from_;
  std::string out_;
};

}  // namespace

std::unique_ptr<Command> make_baseline_command() { return std::make_unique<BaselineCommand>(); }

}  // namespace aiway::app
