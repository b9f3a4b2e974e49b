// ab OLD NEW: two builds, fresh processes in ABBA order, judged by the gate.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "aiway/input_error.hpp"
#include "aiway/scenario_file.hpp"
#include "app/commands.hpp"
#include "app/compare_options.hpp"
#include "files/output_file.hpp"
#include "report/reporter.hpp"
#include "run/ab.hpp"
#include "run/instruction_count.hpp"

namespace aiway::app {
namespace {

class AbCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("ab", "Test a change: two builds, fresh processes in ABBA order, compared by the gate");
    command_->add_option("old", old_, "The old aiway-stress binary, or a build folder holding one")->required()->check(kPath);
    command_->add_option("new", new_, "The new aiway-stress binary, or a build folder holding one")->required()->check(kPath);
    command_->add_option("-s,--scenario", scenarios_, "Scenario name or file; repeatable");
    command_->add_flag("--all", all_, "Every scenario in the scenarios folder");
    command_->add_option("--set", sets_, "Override a field for both builds: SECTION.KEY=VALUE (repeatable)");
    command_->add_option("-r,--repetitions", repetitions_, "Repetitions per build, each a fresh process (default 5)")
        ->check(CLI::Range(1, 1000));
    command_->add_option("--warmup", warmup_, "Warm-up repetitions in each process (default 1)")->check(CLI::Range(0, 100));
    command_->add_flag("--count-instructions", count_instructions_,
                       "Also count each stage's instructions per token under valgrind, in the first 3 processes of "
                       "each side (model targets): the gate then judges counted work too");
    command_->add_option("--out-old", out_old_, "Write the old build's pooled results here")->check(kPath);
    command_->add_option("--out-new", out_new_, "Write the new build's pooled results here")->check(kPath);
    command_->add_option("--format", compare_.format, "console, markdown or json")->check(CLI::IsMember({"console", "markdown", "json"}));
    add_compare_options(command_, compare_, true);
    command_->add_flag("-q,--quiet", compare_.quiet, "Print the verdict line only");
  }
  int run(const AppContext& context) override;

 private:
  AbPlan plan(const AppContext& context) const;

  std::string old_, new_, out_old_, out_new_;
  std::vector<std::string> scenarios_, sets_;
  bool all_ = false, count_instructions_ = false;
  std::uint32_t repetitions_ = 5, warmup_ = 1;
  CompareArgs compare_;
};

AbPlan AbCommand::plan(const AppContext& context) const {
  AbPlan plan;
  plan.old_binary = resolve_binary(old_, "OLD");
  plan.new_binary = resolve_binary(new_, "NEW");
  plan.scenarios_dir = std::filesystem::absolute(context.scenarios_dir);
  // Each scenario as the absolute path of its file: the processes run elsewhere.
  for (const auto& name : scenarios_)
    plan.run_args.insert(plan.run_args.end(),
                         {"--scenario", std::filesystem::absolute(resolve_scenario(name, context.scenarios_dir)).string()});
  if (all_) plan.run_args.push_back("--all");
  for (const auto& set : sets_) plan.run_args.insert(plan.run_args.end(), {"--set", set});
  plan.repetitions = repetitions_;
  plan.warmup = warmup_;
  if (count_instructions_) plan.counting_processes = std::min(kCountingRuns, repetitions_);
  plan.interrupt = &stop_requested();
  return plan;
}

int AbCommand::run(const AppContext& context) {
  check_assignments(sets_);
  policies_with(compare_.thresholds);
  check_outputs({{"--out-old", out_old_}, {"--out-new", out_new_}}, {});
  if (scenarios_.empty() && !all_) throw ScenarioError("ab: name a scenario with --scenario NAME|FILE, or use --all");
  if (count_instructions_) require_valgrind("ab");
  for (const auto& name : scenarios_) load_with_overrides(name, context.scenarios_dir, sets_);  // bad input: exit 2 now
  const AbPlan ab = plan(context);
  stop_on_signals();
  if (isatty(STDERR_FILENO)) std::cerr << fmt::format("ab: {} processes of each build, ABBA order ...\n", repetitions_);
  const AbOutcome outcome = run_ab(ab);
  for (const auto& [path, side] : {std::pair{out_old_, &outcome.old_side}, std::pair{out_new_, &outcome.new_side}})
    if (!path.empty()) {
      std::ostringstream text;
      make_file_reporter("json")->report(*side, text);
      write_file_atomically(path, text.str());
    }
  for (const auto& f : outcome.failures) std::cerr << "aiway-stress: ab: " << f << "\n";
  if (outcome.interrupted) return kInterrupted;
  const int verdict = gate(outcome.old_side, outcome.new_side, compare_);
  if (verdict != kPass) return verdict;
  return outcome.failures.empty() ? kPass : kRuntimeFailure;
}

}  // namespace

std::unique_ptr<Command> make_ab_command() { return std::make_unique<AbCommand>(); }

}  // namespace aiway::app
