// run: scenarios resolved and checked, run by the chosen strategy, reported
// as they finish, every output written, then judged against a baseline.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>

#include "aiway/scenario_file.hpp"
#include "aiway/sweep.hpp"
#include "app/baseline_command.hpp"
#include "app/commands.hpp"
#include "app/compare_options.hpp"
#include "calibrate/calibration.hpp"
#include "compare/statistics.hpp"
#include "files/output_file.hpp"
#include "files/scratch_folder.hpp"
#include "measure/clock.hpp"
#include "measure/machine.hpp"
#include "measure/process_stats.hpp"
#include "report/reporter.hpp"
#include "report/sweep_table.hpp"
#include "results/pool.hpp"
#include "results/results_json.hpp"
#include "run/eta.hpp"
#include "run/memory_estimate.hpp"
#include "run/run_plan.hpp"
#include "run/runner.hpp"
#include "run/sla_search.hpp"
#include "run/instruction_count.hpp"
#include "run/worker_processes.hpp"
#include "stages/resolve.hpp"
#include "targets/target.hpp"

namespace aiway::app {
namespace {

struct RunArgs {
  std::vector<std::string> scenarios;
  bool all = false;
  std::vector<std::string> sets;
  std::optional<std::uint32_t> repetitions;
  std::optional<std::uint32_t> warmup;
  std::string out;  // results JSON
  std::string out_markdown, out_junit, out_gbench, out_bmf, out_openmetrics, out_hlog;
  std::string format = "console";
  bool quiet = false;
  bool verbose = false;
  bool spectrum = false;
  bool interleave = false;
  std::uint32_t processes = 1;
  std::vector<std::string> sweeps;  // FIELD=V1,V2,...
  std::string baseline;
  std::string save_baseline;  // NAME or FILE
  CompareArgs compare;
  bool calibrate = false, no_calibrate = false;  // default: on with --all
  bool count_instructions = false;
  std::uint32_t confirm = 0;  // --confirm N: more repetitions for inconclusive gating verdicts
  std::string sla_search;     // FIELD=LOW..HIGH
  std::string shard;          // K/N (HTTP targets)
  std::optional<double> start_at;  // Unix time (HTTP targets)

  // The files to write, by reporter name, and the options that named them.
  std::vector<std::pair<std::string, std::string>> outputs() const {
    return {{"json", out},      {"markdown", out_markdown},       {"junit", out_junit}, {"gbench", out_gbench},
            {"bmf", out_bmf},   {"openmetrics", out_openmetrics}, {"hlog", out_hlog}};
  }
};

void bind_run_options(CLI::App* run, RunArgs& a) {
  run->add_option("-s,--scenario", a.scenarios, "Scenario name (from the scenarios folder) or file; repeatable");
  run->add_flag("--all", a.all, "Run every scenario in the scenarios folder, one after another");
  run->add_option("--set", a.sets, "Override a field for this run: SECTION.KEY=VALUE (repeatable)");
  run->add_option("-r,--repetitions", a.repetitions, "Measured repetitions per scenario")->check(CLI::Range(1, 1000));
  run->add_option("--warmup", a.warmup, "Warm-up repetitions (not counted)")->check(CLI::Range(0, 100));
  run->add_option("-o,--out,--out-json", a.out, "Write the results JSON here (atomically)")->check(kPath);
  run->add_option("--out-markdown", a.out_markdown, "Write a Markdown summary here")->check(kPath);
  run->add_option("--out-junit", a.out_junit, "Write JUnit XML here")->check(kPath);
  run->add_option("--out-gbench", a.out_gbench, "Write Google Benchmark JSON here")->check(kPath);
  run->add_option("--out-bmf", a.out_bmf, "Write Bencher Metric Format JSON here (every tracked metric, with its interval)")
      ->check(kPath);
  run->add_option("--out-openmetrics", a.out_openmetrics,
                  "Write OpenMetrics text here (gauges and a latency histogram; for node_exporter or a Pushgateway)")
      ->check(kPath);
  run->add_option("--out-hlog", a.out_hlog,
                  "Write an HdrHistogram interval log here (each repetition's end-to-end latency histogram, in ns)")
      ->check(kPath);
  run->add_option("--format", a.format, "Standard output format")
      ->check(CLI::IsMember({"console", "json", "markdown", "junit", "gbench", "bmf", "openmetrics", "hlog"}));
  run->add_flag("-q,--quiet", a.quiet, "No progress, and one PASS/FAIL line per scenario instead of the report");
  run->add_flag("-v,--verbose", a.verbose, "Also each repetition's headline figures (a bimodal spread shows)");
  run->add_option("--sweep", a.sweeps, "Run every combination of values: SECTION.KEY=V1,V2,... (repeatable: several form a grid)");
  run->add_flag("--interleave", a.interleave,
                "With several scenarios, take turns one repetition at a time (A B C A B C ...), so drift spreads evenly");
  run->add_option("--processes", a.processes,
                  "Spread each scenario's repetitions over N fresh worker processes (each with its own warm-up)")
      ->check(CLI::Range(1, 1000));
  // Two flags, not one optional: CLI11 sets an optional<bool> flag to false when it is absent.
  run->add_flag("--calibrate", a.calibrate, "Score the machine first (a few seconds) and store it in the results; default: on with --all");
  run->add_flag("--no-calibrate", a.no_calibrate, "Do not calibrate, even with --all");
  run->add_flag("--count-instructions", a.count_instructions,
                "Also count each stage's own instructions per token, in runs under valgrind's callgrind (seconds "
                "each): figures a busy machine cannot move, judged by compare to 1 %; model targets");
  run->add_flag("--spectrum", a.spectrum, "Print the latency percentile spectrum (HdrHistogram layout)");
  run->add_option("--baseline", a.baseline, "Compare the results with this baseline (results file); exit 1 on a regression")
      ->check(CLI::ExistingFile);
  run->add_option("--save-baseline", a.save_baseline,
                  "Also store the results as a baseline: NAME (baselines/NAME.json) or FILE; not for a failed or interrupted run")
      ->check(kPath);
  add_compare_options(run, a.compare, true);
  run->add_option("--sla-search", a.sla_search,
                  "Find the highest load at which the [slo] objectives hold, by bisection over repeated runs: "
                  "SECTION.KEY=LOW..HIGH (e.g. backend.streams=1..1024); exit 1 when even LOW misses them");
  run->add_option("--shard", a.shard, "HTTP targets: run only the K-th of N disjoint slices of the streams (K/N); merge combines the shards")
      ->check([](const std::string& v) { return parse_shard(v) ? std::string() : "expected K/N with 1 <= K <= N"; });
  run->add_option("--start-at", a.start_at,
                  "HTTP targets: start the streams' schedule at this Unix time (seconds), so shards start together");
  run->add_option("--confirm", a.confirm,
                  "With --baseline: when a gating verdict is inconclusive, take N more repetitions in fresh processes "
                  "and decide again")
      ->check(CLI::Range(1, 1000));
}

// The scenarios as they will run: loaded with their overrides, named once,
// expanded by --sweep, their stages resolved, each checked against the
// memory budget and by its target before anything runs.
std::vector<Scenario> scenarios_to_run(const RunArgs& args, const std::filesystem::path& dir,
                                       const std::optional<SlaSearch>& sla, std::vector<SweepVariant>& variants) {
  check_assignments(args.sets);
  // --shard and --start-at are fields of the HTTP target: they reach worker
  // processes and the results like any other.
  std::vector<std::string> sets = args.sets;
  if (!args.shard.empty()) sets.push_back("target.shard=" + args.shard);
  // -r and --warmup before the cross-field checks, which involve them (a common start time).
  if (args.repetitions) sets.push_back(fmt::format("repetitions={}", *args.repetitions));
  if (args.warmup) sets.push_back(fmt::format("warmup={}", *args.warmup));
  if (args.start_at) sets.push_back(fmt::format("target.start_at={}", *args.start_at));
  std::vector<Scenario> scenarios;
  std::vector<std::string> names = args.scenarios;
  if (args.all)
    for (const auto& e : list_scenarios(dir)) names.push_back(e.file.string());
  if (names.empty()) throw ScenarioError("run: name a scenario with --scenario NAME|FILE, or use --all");
  for (const auto& name : names) {
    Scenario s = load_with_overrides(name, dir, sets);
    // The same scenario twice (-s X -s X, or -s X --all) runs once: two results
    // of one name would be compared, pooled and linked as if they were one.
    if (std::any_of(scenarios.begin(), scenarios.end(), [&](const auto& t) { return t.name == s.name; })) {
      std::cerr << fmt::format("aiway-stress: scenario {} is named more than once: it runs once\n", s.name);
      continue;
    }
    scenarios.push_back(std::move(s));
  }
  if (sla) {
    if (scenarios.size() != 1) throw ScenarioError("run: --sla-search searches one scenario: name exactly one");
    Scenario check = scenarios.front();  // a bad field or bound is an input error now, not after the first probe
    apply_overrides(check, {fmt::format("{}={}", sla->field, sla->low)});
    apply_overrides(check, {fmt::format("{}={}", sla->field, sla->high)});
  }
  // With --sweep, each scenario runs once per combination, as a scenario of its own.
  variants = expand_sweeps(scenarios, args.sweeps);
  scenarios.clear();
  const std::int64_t available = mem_available_bytes();
  for (auto v : variants) {
    resolve_stages(v.scenario);  // a sweep may choose another implementation or its parameters
    check_memory_budget(v.scenario, available);  // one at a time: variants run one after another
    target_of(v.scenario).check_before_run(v.scenario, unix_time_s());
    scenarios.push_back(v.scenario);
  }
  return scenarios;
}

// --count-instructions: valgrind must be there before minutes of work; a
// scenario whose stages run elsewhere is said once and runs uncounted.
void check_counting(const std::vector<Scenario>& scenarios) {
  require_valgrind("run");
  for (const auto& s : scenarios)
    if (!target_of(s).stages_in_this_process())
      std::cerr << fmt::format("aiway-stress: {}: its target runs in another process: no instructions are counted "
                               "for it (only a model target's stages run here)\n", s.name);
}

// The instruction counts of one scenario's result, when it ran whole and its stages run here.
void count_work(ScenarioResult& r, bool progress) {
  if (!r.failure.empty() || r.repetitions.empty() || !target_of(r.scenario).stages_in_this_process()) return;
  if (progress)
    std::cerr << fmt::format("\r\x1b[2K[{}] counting instructions: {} runs under valgrind ...", r.scenario.name,
                             std::min<std::size_t>(kCountingRuns, r.repetitions.size()))
              << std::flush;
  count_instructions(r, kCountingRuns, &stop_requested());
}

// The tool and machine the results come from; a stage compiled without
// optimisation measures a debug build: said once, and kept in the results.
RunResults describe_run(const std::vector<Scenario>& scenarios, const Clock& clock) {
  RunResults results;
  results.tool = describe_tool();
  for (const auto& s : scenarios)
    for (const std::string& stage : target_of(s).unoptimized_stages(s))
      if (std::find(results.tool.unoptimized_stages.begin(), results.tool.unoptimized_stages.end(), stage) ==
          results.tool.unoptimized_stages.end()) {
        results.tool.unoptimized_stages.push_back(stage);
        std::cerr << fmt::format("aiway-stress: WARNING: the {} was compiled without optimisation: its figures are a "
                                 "debug build's (build it with -DCMAKE_BUILD_TYPE=Release)\n", stage);
      }
  results.machine = describe_machine(clock);
  results.started_at = utc_now();
  for (const auto& s : scenarios) results.planned_repetitions += s.repetitions;
  return results;
}

// The progress line on a terminal: where the run is, the last repetition's
// figures, re-runs of disturbed repetitions, and the time left at the pace so
// far, re-runs to come included (run/eta.hpp).
class ProgressLine {
 public:
  explicit ProgressLine(const std::vector<Scenario>& scenarios) {
    for (const auto& s : scenarios) {
      planned_ += s.warmup + s.repetitions;
      names_.push_back(s.name);
    }
  }
  void on_event(const RunEvent& e) {
    using Kind = RunEvent::Kind;
    if (e.scenario.name != last_scenario_) last_figures_.clear();
    last_scenario_ = e.scenario.name;
    if (e.kind != Kind::repetition_started) {
      ++taken_;
      if (e.kind == Kind::repetition_discarded) {
        ++planned_;  // it is taken again
        ++retaken_;
      }
      const Metrics& m = e.repetition->metrics;
      last_figures_ = fmt::format(" · last {} tok/s", plain_number(m.get("throughput_tps").value_or(0)));
      if (const auto p99 = m.get("latency_p99_us")) last_figures_ += fmt::format(", p99 {} us", plain_number(*p99));
      if (e.kind == Kind::repetition_discarded) last_figures_ += " (disturbed: taken again)";
      return;
    }
    std::string eta;
    if (taken_ > 0 && planned_ > taken_) {
      const auto left = std::int64_t(eta_seconds(double(monotonic_ns() - start_ns_) / 1e9, taken_, retaken_, planned_ - taken_) + 0.5);
      eta = fmt::format(" · ETA {}:{:02}", left / 60, left % 60);
    }
    // With several scenarios, which one of how many (the ETA is already the whole run's).
    const auto at = std::find(names_.begin(), names_.end(), e.scenario.name);
    const std::string which = names_.size() > 1 && at != names_.end()
                                  ? fmt::format("scenario {}/{} ", at - names_.begin() + 1, names_.size())
                                  : "";
    std::cerr << fmt::format("\r\x1b[2K{}[{}] {} {}/{}{}{}{} ...", which, e.scenario.name, e.warmup ? "warm-up" : "repetition", e.index,
                             e.count, e.reruns ? fmt::format(" ({} re-run{})", e.reruns, e.reruns == 1 ? "" : "s") : "",
                             last_figures_, eta)
              << std::flush;
  }

 private:
  std::uint64_t planned_ = 0, taken_ = 0, retaken_ = 0;
  std::int64_t start_ns_ = monotonic_ns();
  std::string last_figures_, last_scenario_;
  std::vector<std::string> names_;
};

// The results of a run whose named output could not be written, kept in the
// temporary folder under a name that says when and by whom, and said where.
void rescue_results(const RunResults& results) {
  const std::filesystem::path rescue =
      temporary_base() / fmt::format("aiway-stress-results-{}-{:.0f}.json", getpid(), unix_time_s());
  try {
    write_file_atomically(rescue, results_json_text(results));
    std::cerr << fmt::format("aiway-stress: the results are kept in {}\n", rescue.string());
  } catch (const OutputError& e) {
    std::cerr << fmt::format("aiway-stress: the results could not be kept anywhere: {}\n", e.what());
  }
}

// Every output that can be written is written: one that fails (a full disk)
// is reported and costs none of the others, and the results are never lost:
// they go to a named file in the temporary folder instead. True when one failed.
bool write_outputs(const RunArgs& args, const RunResults& results) {
  bool failed = false;
  for (const auto& [format, path] : args.outputs()) {
    if (path.empty()) continue;
    std::ostringstream text;
    make_file_reporter(format)->report(results, text);
    try {
      write_file_atomically(path, text.str());
      if (!args.quiet) std::cerr << fmt::format("{} written to {}\n", format == "json" ? "results" : format, path);
    } catch (const OutputError& e) {
      std::cerr << fmt::format("aiway-stress: {}\n", e.what());
      failed = true;
    }
  }
  if (failed) rescue_results(results);
  return failed;
}

// The scenarios whose first look left a gating verdict inconclusive.
std::vector<std::size_t> doubtful_scenarios(const RunResults& results, const Comparison& first) {
  std::vector<std::size_t> doubtful;
  for (std::size_t i = 0; i < results.scenarios.size(); ++i)
    for (const auto& sc : first.scenarios)
      if (sc.scenario == results.scenarios[i].scenario.name &&
          std::any_of(sc.metrics.begin(), sc.metrics.end(),
                      [&](const auto& m) { return first.decides(m) && m.verdict == Verdict::inconclusive; }))
        doubtful.push_back(i);
  return doubtful;
}

// --confirm: more repetitions in fresh processes for the doubtful scenarios,
// appended to their results. False when interrupted.
bool confirm(const RunArgs& args, const std::vector<std::size_t>& doubtful, double alpha, RunResults& results,
             std::ostream& out) {
  WorkerPlan plan{{}, args.confirm, false, &stop_requested(), nullptr};
  for (std::size_t i : doubtful) {
    Scenario s = results.scenarios[i].scenario;
    s.repetitions = args.confirm;
    plan.scenarios.push_back(std::move(s));
  }
  out << fmt::format("\nconfirming: {} more repetition{} of {} scenario{} in fresh processes, then deciding again "
                     "(each look at alpha = {:.3g})\n",
                     args.confirm, args.confirm == 1 ? "" : "s", doubtful.size(), doubtful.size() == 1 ? "" : "s", alpha);
  bool interrupted = false;
  auto more = run_in_worker_processes(plan, interrupted);
  for (std::size_t k = 0; k < doubtful.size(); ++k) {
    ScenarioResult& into = results.scenarios[doubtful[k]];
    if (!more[k].failure.empty()) into.failure = "confirmation: " + more[k].failure;
    append_repetitions(into, std::move(more[k]));
    finalize_result(into, interrupted);
  }
  results.method.processes += args.confirm;
  results.planned_repetitions += std::uint64_t(args.confirm) * doubtful.size();
  results.interrupted |= interrupted;
  return !interrupted;
}

// The gate against --baseline, with --confirm's second look; the exit code.
int judge(const RunArgs& args, const RunResults& baseline, RunResults& results, bool& outputs_failed) {
  // Standard output may carry JSON/XML already: then the comparison goes to stderr.
  std::ostream& out = args.format == "console" ? std::cout : std::cerr;
  CompareArgs look = args.compare;
  // With confirmation there are two looks at the data: each at alpha / 2, so
  // that the chance of a false alarm over both stays at most alpha.
  if (args.confirm > 0) look.options.alpha /= 2;
  Comparison first;
  int verdict = gate(baseline, results, look, out, &first);
  const std::vector<std::size_t> doubtful = doubtful_scenarios(results, first);
  if (args.confirm > 0 && !doubtful.empty() && !first.regressed()) {
    const bool completed = confirm(args, doubtful, look.options.alpha, results, out);
    outputs_failed |= write_outputs(args, results);
    if (!completed) return kInterrupted;
    verdict = gate(baseline, results, look, out);
  }
  return verdict;
}

class RunCommand final : public Command {
 public:
  void bind(CLI::App& app) override {
    command_ = app.add_subcommand("run", "Run scenarios and report");
    bind_run_options(command_, args_);
  }
  int run(const AppContext& context) override;

 private:
  void show(const ScenarioResult& r, bool progress) const;
  ConsoleStyle style() const { return {use_color(), args_.spectrum, args_.verbose}; }

  RunArgs args_;
};

void RunCommand::show(const ScenarioResult& r, bool progress) const {
  if (progress) std::cerr << "\r\x1b[2K" << std::flush;
  if (args_.format != "console") return;
  if (args_.quiet) std::cout << fmt::format("{} {}\n", r.passed ? "PASS" : "FAIL", r.scenario.name);
  else print_scenario(r, style(), std::cout);
  std::cout << std::flush;
}

int RunCommand::run(const AppContext& context) {
  const RunArgs& args = args_;
  std::optional<SlaSearch> sla;
  if (!args.sla_search.empty()) {
    sla = parse_sla_search(args.sla_search);
    if (!args.sweeps.empty()) throw ScenarioError("run: --sla-search chooses the values itself: leave out --sweep");
  }
  std::vector<SweepVariant> variants;
  const std::vector<Scenario> scenarios = scenarios_to_run(args, context.scenarios_dir, sla, variants);
  // Every output path is checked before minutes of work, not after.
  const std::string save_baseline = baseline_path_for(args.save_baseline);
  std::vector<std::string> inputs = {args.baseline};
  for (const auto& s : scenarios) inputs.push_back(s.source);
  std::vector<OutputPath> named;
  for (const auto& [format, path] : args.outputs())
    named.push_back({format == "json" ? std::string("--out") : "--out-" + format, path});
  named.push_back({"--save-baseline", save_baseline});
  check_outputs(named, inputs);
  std::optional<RunResults> baseline;
  if (!args.baseline.empty()) baseline = load_results_file(args.baseline);
  policies_with(args.compare.thresholds);  // a bad --threshold is an input error before the run, as in compare
  for (const auto& s : scenarios) gating_metrics(s);  // and so is a bad [compare] gating list

  if (args.count_instructions) check_counting(scenarios);

  stop_on_signals();
  const Clock clock = Clock::detect();
  RunResults results = describe_run(scenarios, clock);
  const bool progress = !args.quiet && isatty(STDERR_FILENO);
  if ((args.calibrate || args.all) && !args.no_calibrate) {
    if (progress) std::cerr << "calibrating ..." << std::flush;
    results.machine.calibration = calibrate(clock);
    if (progress) std::cerr << "\r\x1b[2K" << std::flush;
  }
  RunPlan plan{scenarios, args.processes, args.interleave && scenarios.size() > 1, &stop_requested(), {}, {}};
  ProgressLine line(scenarios);
  if (progress) {
    plan.on_event = [&](const RunEvent& e) { line.on_event(e); };
    plan.on_process_started = [](std::uint32_t worker, std::uint32_t count) {
      std::cerr << fmt::format("\r\x1b[2K[worker process {}/{}] ...", worker, count) << std::flush;
    };
  }
  results.method = {plan.processes, plan.interleave};
  bool failed_run = false;
  std::optional<SlaOutcome> sla_outcome;
  if (sla) {
    // Each probe is a plan of its own; a probe that fails (a timeout under too
    // much load) is a load at which the service levels do not hold, not a failed run.
    sla_outcome = sla_search(
        scenarios.front(), *sla,
        [&](const Scenario& s) {
          RunPlan probe = plan;
          probe.scenarios = {s};
          resolve_stages(probe.scenarios.front());
          ScenarioResult result;
          execute(probe, clock, results.interrupted, [&](ScenarioResult r) { result = std::move(r); });
          show(result, progress);
          return result;
        },
        [&] { return results.interrupted; });
    results.scenarios = std::move(sla_outcome->probes);
  } else {
    execute(plan, clock, results.interrupted, [&](ScenarioResult r) {
      if (args.count_instructions && !results.interrupted) count_work(r, progress);
      show(r, progress);
      failed_run |= !r.failure.empty();
      results.scenarios.push_back(std::move(r));
    });
  }
  const bool console = args.format == "console";
  if (sla) {
    if (console && !args.quiet) print_sweep_table(sweep_table(results), false, std::cout);
    (console ? std::cout : std::cerr) << describe(*sla, *sla_outcome) << "\n";
  } else if (!args.sweeps.empty()) {
    for (std::size_t i = 0; i < results.scenarios.size(); ++i) results.scenarios[i].sweep = variants[i].combination;
    if (console && !args.quiet) print_sweep_table(sweep_table(results), false, std::cout);
  }
  if (console && (results.scenarios.size() > 1 || results.interrupted)) {
    print_run_summary(results, style(), std::cout);
    std::cout << std::flush;
  }
  results.passed = !results.interrupted && !failed_run &&
                   std::all_of(results.scenarios.begin(), results.scenarios.end(), [](const auto& r) { return r.passed; });
  // A search passes when it found a load that holds: the probes above it miss by design.
  if (sla_outcome) results.passed = !results.interrupted && sla_outcome->highest.has_value();
  // Files first: a closed standard output (| head) must never cost them.
  bool outputs_failed = write_outputs(args, results);
  if (!console) make_file_reporter(args.format)->report(results, std::cout);
  if (results.interrupted) std::cerr << fmt::format("aiway-stress: {}\n", describe_interrupted(results));
  if (!save_baseline.empty() && (results.interrupted || failed_run))
    std::cerr << fmt::format("aiway-stress: no baseline written to {}: the run {}\n", save_baseline,
                             results.interrupted ? "was interrupted" : "failed");
  if (results.interrupted) return kInterrupted;
  if (failed_run) {
    for (const auto& r : results.scenarios)
      if (!r.failure.empty()) std::cerr << fmt::format("aiway-stress: {}: {}\n", r.scenario.name, r.failure);
    return kRuntimeFailure;
  }
  if (!save_baseline.empty()) write_baseline(results, results_json_text(results, /*compact=*/true), "this run", save_baseline);
  if (baseline) {
    const int verdict = judge(args, *baseline, results, outputs_failed);
    if (verdict == kInterrupted) return verdict;
    if (outputs_failed) return kRuntimeFailure;
    if (verdict != kPass) return verdict;
  }
  if (outputs_failed) return kRuntimeFailure;
  return results.passed ? kPass : kFailed;
}

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace aiway::app
