// history add | check | changes: the nightly history in SQLite; a run judged
// against the same machine's last runs; change points over every series.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "aiway/metrics.hpp"
#include "app/commands.hpp"
#include "compare/history_check.hpp"
#include "compare/series.hpp"
#include "compare/verdict.hpp"
#include "report/history_report.hpp"
#include "results/history.hpp"
#include "results/results_json.hpp"

namespace aiway::app {
namespace {

// A series' change points, found on the logarithm of positive figures (a
// change is a ratio) and shown as figures.
SeriesChanges changes_of(const HistoryDb& db, const std::string& fingerprint, const std::string& scenario,
                         const std::string& metric, double p) {
  const auto points = db.series(fingerprint, scenario, metric);
  SeriesChanges s{fingerprint, scenario, metric, points.size(), {}};
  std::vector<double> values;
  for (const auto& point : points) values.push_back(point.median);
  // A count of work repeats exactly: every step beyond its threshold is a change, the last run's too.
  if (const MetricDescriptor* m = find_metric(metric); m && m->unit == "instructions") {
    for (const auto& c : count_steps(values, m->threshold))
      s.changes.push_back({c, points[c.index].run.started_at, points[c.index].run.git, points[c.index].run.id});
    return s;
  }
  const bool positive = std::all_of(values.begin(), values.end(), [](double v) { return v > 0; });
  if (positive)
    for (double& v : values) v = std::log(v);
  for (const auto& c : change_points(values, p)) {
    ChangePoint shown = c;
    if (positive) {
      shown.mean_before = std::exp(c.mean_before);
      shown.mean_after = std::exp(c.mean_after);
    }
    s.changes.push_back({shown, points[c.index].run.started_at, points[c.index].run.git, points[c.index].run.id});
  }
  return s;
}

class HistoryCommand final : public Command {
 public:
  void bind(CLI::App& app) override;
  bool chosen() const override { return add_->parsed() || check_->parsed() || changes_->parsed(); }
  int run(const AppContext&) override {
    if (add_->parsed()) return add();
    if (check_->parsed()) return check();
    return changes();
  }

 private:
  int add() const;
  int check() const;
  int changes() const;

  CLI::App *add_ = nullptr, *check_ = nullptr, *changes_ = nullptr;
  std::string db_, results_, format_ = "console";
  std::size_t last_ = 14;
  double alpha_ = 0.05, p_ = 0.001;
  bool fail_on_inconclusive_ = false;
};

void HistoryCommand::bind(CLI::App& app) {
  auto* history = app.add_subcommand("history", "The nightly history: store runs, judge a run against it, find change points");
  history->require_subcommand(1);
  add_ = history->add_subcommand("add", "Store a results file's gating metrics in the history database");
  add_->add_option("results", results_, "Results file (from run --out)")->required()->check(kPath);
  add_->add_option("--db", db_, "History database (SQLite; created on first use)")->required()->check(kPath);
  check_ = history->add_subcommand("check", "Judge a run against the last N runs of the same machine");
  check_->add_option("results", results_, "Results file (from run --out)")->required()->check(kPath);
  check_->add_option("--db", db_, "History database")->required()->check(kPath);
  check_->add_option("--last", last_, "Judge against this many earlier runs (default 14)")->check(CLI::Range(2, 100000));
  check_->add_option("--alpha", alpha_, "Significance level")->check(CLI::Range(0.0001, 0.5));
  check_->add_flag("--fail-on-inconclusive", fail_on_inconclusive_, "Exit 4 when a verdict is inconclusive");
  check_->add_option("--format", format_, "console or json")->check(CLI::IsMember({"console", "json"}));
  changes_ = history->add_subcommand("changes", "Find change points over every series of the history");
  changes_->add_option("--db", db_, "History database")->required()->check(kPath);
  changes_->add_option("--p", p_, "Significance of a change point's t-test (default 0.001)")->check(CLI::Range(1e-12, 0.5));
  changes_->add_option("--format", format_, "console or json")->check(CLI::IsMember({"console", "json"}));
}

int HistoryCommand::add() const {
  const RunResults results = load_results_file(results_);
  HistoryDb db(db_, /*create=*/true);
  const std::int64_t id = db.add(results);
  std::cerr << fmt::format("run {} added to {} ({} scenarios, git {}, machine {})\n", id, db_, results.scenarios.size(),
                           results.tool.git, results.machine.fingerprint);
  return kPass;
}

int HistoryCommand::check() const {
  const RunResults results = load_results_file(results_);
  const HistoryDb db(db_, /*create=*/false);
  const auto prior = [&](const std::string& scenario, const std::string& metric) {
    std::vector<double> medians;
    // Runs that started before this one: checking a run already added judges it against its past.
    for (const auto& p : db.series(results.machine.fingerprint, scenario, metric, last_, results.started_at))
      medians.push_back(p.median);
    return medians;
  };
  const HistoryCheck check = check_against_history(results, prior, default_policies(), alpha_);
  print_history_check(check, format_, std::cout);
  if (check.regressed()) return kFailed;
  if (fail_on_inconclusive_ && check.inconclusive()) return kInconclusive;
  return kPass;
}

int HistoryCommand::changes() const {
  const HistoryDb db(db_, /*create=*/false);
  std::vector<SeriesChanges> all;
  for (const auto& fingerprint : db.fingerprints())
    for (const auto& [scenario, metric] : db.series_keys(fingerprint)) all.push_back(changes_of(db, fingerprint, scenario, metric, p_));
  print_history_changes(all, format_, std::cout);
  return kPass;
}

}  // namespace

std::unique_ptr<Command> make_history_command() { return std::make_unique<HistoryCommand>(); }

}  // namespace aiway::app
