// aiway-stress: wires the modules together; no measurement or formatting here.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "aiway/scenario_file.hpp"
#include "aiway/stage_registry.hpp"
#include "aiway/sweep.hpp"
#include "stages/resolve.hpp"
#include "calibrate/calibration.hpp"
#include "cli/ab.hpp"
#include "run/worker_processes.hpp"
#include "files/scratch_folder.hpp"
#include "measure/clock.hpp"
#include "measure/machine.hpp"
#include "net/socket.hpp"
#include "reference_conductor/reference_conductor.hpp"
#include "results/pool.hpp"
#include "compare/statistics.hpp"
#include "compare/verdict.hpp"
#include "files/output_file.hpp"
#include "report/calibration_report.hpp"
#include "report/comparison_report.hpp"
#include "report/html_report.hpp"
#include "report/metric_docs.hpp"
#include "report/reporter.hpp"
#include "results/results_json.hpp"
#include "scenario/scenario_toml.hpp"
#include "report/sweep_table.hpp"
#include "run/sla_search.hpp"
#include "run/run_plan.hpp"
#include "run/runner.hpp"
#include "run/memory_estimate.hpp"
#include "targets/target.hpp"
#include "results/history.hpp"
#include "report/history_report.hpp"
#include "compare/history_check.hpp"
#include "compare/series.hpp"
#include "measure/process_stats.hpp"
#include "files/input_file.hpp"
#include "results/results_json.hpp"

namespace {

enum Exit { kPass = 0, kFailed = 1, kInputError = 2, kRuntimeFailure = 3, kInconclusive = 4, kInterrupted = 130 };

// The one piece of process-wide state: a signal handler can reach nothing else.
std::atomic<bool> g_interrupted{false};
std::atomic<std::int64_t> g_first_signal_ns{0};
std::atomic<int> g_signals{0};

extern "C" void on_signal(int) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  const std::int64_t now_ns = std::int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  if (!g_interrupted.exchange(true)) {
    g_first_signal_ns = now_ns;
    g_signals = 1;
    return;
  }
  // One within a second of the first is the same request delivered twice (to
  // the process and its group). A second request stops just as the first
  // does, results written; only a third leaves at once, for a harness that
  // cannot stop (the results of what completed are then lost).
  if (now_ns - g_first_signal_ns.load() > 1'000'000'000 && g_signals.fetch_add(1) + 1 >= 3) _exit(kInterrupted);
}

std::filesystem::path default_scenarios_dir(const char* package_dir) {
  if (const char* env = std::getenv("AIWAY_SCENARIOS_DIR")) return env;
  if (std::filesystem::is_directory("scenarios")) return "scenarios";
  if (package_dir) return package_dir;  // an installed package's scenarios
  return AIWAY_SOURCE_SCENARIOS_DIR;  // the checkout this binary was built from
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Every registered stage, by role, with its parameters (what `stages` prints).
void print_stages(std::ostream& out) {
  for (const aiway::StageRole role : {aiway::StageRole::backend, aiway::StageRole::conductor, aiway::StageRole::surface}) {
    out << fmt::format("{}.impl:\n", aiway::to_string(role));
    for (const aiway::StageInfo* info : aiway::stage_registry().list(role)) {
      out << fmt::format("  {:<14} {}\n", info->name, info->description);
      for (const aiway::ParamSpec& p : info->params) {
        static constexpr const char* kTypes[] = {"boolean", "integer", "number", "string"};
        const std::string value = std::visit(
            [](const auto& v) -> std::string {
              using T = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
              else if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", v);
              else return fmt::format("{}", v);
            },
            p.default_value);
        const std::string range = p.min == p.max ? "" : fmt::format(", {} to {}", p.min, p.max);
        out << fmt::format("    {}.params.{} ({}{}, default {}): {}\n", aiway::to_string(role), p.name,
                           kTypes[int(p.type)], range, value, p.description);
      }
    }
  }
}

bool use_color() { return isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr; }

aiway::Scenario load_with_overrides(const std::string& name, const std::filesystem::path& dir,
                                    const std::vector<std::string>& overrides) {
  aiway::Scenario s = aiway::load_scenario_file(aiway::resolve_scenario(name, dir));
  aiway::apply_overrides(s, overrides);
  aiway::resolve_stages(s);
  return s;
}

struct CompareArgs {
  std::string format = "console";
  aiway::CompareOptions options;
  std::vector<std::string> thresholds;  // METRIC=FRACTION
  bool fail_on_inconclusive = false;
  bool quiet = false;  // -q: the console comparison's verdict line only, as run -q prints its verdicts only
};

// The comparison options every command that compares takes.
void add_compare_options(CLI::App* command, CompareArgs& args, bool gate_options) {
  command->add_option("--alpha", args.options.alpha, "Significance level of the regression test")
      ->check(CLI::Range(0.0001, 0.5));
  command->add_option("--threshold", args.thresholds,
                      "Practical threshold METRIC=FRACTION (repeatable), e.g. throughput_tps=0.05");
  command->add_flag("--strict", args.options.strict, "Advisory (non-gating) metrics decide the exit code too");
  command->add_flag("--allow-different-workload", args.options.allow_different_workload,
                    "Compare scenarios whose workloads differ (noted loudly) instead of refusing them");
  if (gate_options)
    command->add_flag("--fail-on-inconclusive", args.fail_on_inconclusive,
                      "Exit 4 when a gating verdict is inconclusive");
}

std::vector<aiway::MetricPolicy> policies_with(const std::vector<std::string>& overrides) {
  auto policies = aiway::default_policies();
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos) throw aiway::ScenarioError(fmt::format("--threshold {}: expected METRIC=FRACTION", o));
    const std::string metric = o.substr(0, eq);
    double value = 0;
    try {
      std::size_t used = 0;
      value = std::stod(o.substr(eq + 1), &used);
      if (used != o.size() - eq - 1 || !(value >= 0 && value < 100)) throw std::invalid_argument("range");
    } catch (const std::exception&) {
      throw aiway::ScenarioError(fmt::format("--threshold {}: expected a fraction such as 0.05", o));
    }
    auto it = std::find_if(policies.begin(), policies.end(), [&](const auto& p) { return p.metric == metric; });
    if (it == policies.end()) throw aiway::ScenarioError(fmt::format("--threshold {}: {} is not a compared metric", o, metric));
    it->threshold = value;
    it->from_command_line = true;
  }
  return policies;
}

// Prints the comparison; returns the gate's exit code.
int gate(const aiway::RunResults& base, const aiway::RunResults& current, const CompareArgs& args,
         std::ostream& out = std::cout, aiway::Comparison* comparison = nullptr) {
  for (const auto* side : {&base, &current})
    if (side->scenarios.empty())
      throw aiway::InputError(fmt::format("the {} results hold no scenario: there is nothing to compare",
                                          side == &base ? "base" : "new"));
  const aiway::Comparison c = aiway::compare_results(base, current, policies_with(args.thresholds), args.options);
  if (!c.same_machine) std::cerr << "aiway-stress: WARNING: " << c.machine_note << "\n";
  if (args.quiet && args.format == "console") {
    std::ostringstream text;
    aiway::print_comparison(c, args.format, false, text);
    std::string all = text.str();
    while (!all.empty() && all.back() == '\n') all.pop_back();
    out << all.substr(all.rfind('\n') + 1) << "\n";  // the last line: counts and the headline
  } else {
    aiway::print_comparison(c, args.format, use_color() && &out == &std::cout, out);
  }
  if (comparison) *comparison = c;
  if (c.regressed()) return kFailed;
  if (args.fail_on_inconclusive && c.inconclusive()) return kInconclusive;
  return kPass;
}

// Stores a results file as a baseline, once it is known to be one: an
// interrupted run is refused, and scenarios with disturbed repetitions are named.
void write_baseline(const aiway::RunResults& r, const std::string& text, const std::string& source,
                    const std::string& path) {
  if (r.interrupted) throw aiway::ResultsError(fmt::format("{}: an interrupted run is no baseline", source));
  if (r.scenarios.empty()) throw aiway::ResultsError(fmt::format("{}: holds no scenario: an empty run is no baseline", source));
  for (const auto& s : r.scenarios)
    if (s.repetitions.empty())
      throw aiway::ResultsError(fmt::format("{}: scenario {} has no repetition: it is no baseline", source, s.scenario.name));
  for (std::size_t i = 0; i < r.scenarios.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (r.scenarios[i].scenario.name == r.scenarios[k].scenario.name)
        throw aiway::ResultsError(fmt::format("{}: scenario {} appears twice", source, r.scenarios[i].scenario.name));
  for (const auto& s : r.scenarios)
    if (const std::string d = aiway::describe_disturbed(aiway::disturbance_of(s)); !d.empty())
      std::cerr << fmt::format("aiway-stress: WARNING: baseline scenario {}: {}: comparisons with it will call its "
                               "changes inconclusive; take the baseline on a quieter machine\n", s.scenario.name, d);
  aiway::write_file_atomically(path, text);
  std::cerr << fmt::format("baseline written to {} ({} scenarios, machine {})\n", path, r.scenarios.size(),
                           r.machine.fingerprint);
}

// run --save-baseline: a bare name is a file of ./baselines/.
std::string baseline_path_for(const std::string& name_or_file) {
  if (name_or_file.empty() || name_or_file.find('/') != std::string::npos || name_or_file.ends_with(".json"))
    return name_or_file;
  return "baselines/" + name_or_file + ".json";
}

// A --set value is one TOML value on one line, in UTF-8: a value with a line
// break could smuggle in other fields, and text that is not UTF-8 would fail
// only when results are written, after the whole run.
void check_assignment_text(const std::string& assignment) {
  // The value as shown in the message: control characters escaped, so the message stays one line.
  const auto where = [&](std::size_t at) {
    std::string shown;
    for (char ch : assignment.substr(0, 60))
      shown += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? fmt::format("\\x{:02x}", static_cast<unsigned char>(ch))
                                                                  : std::string(1, ch);
    return fmt::format("--set {}: byte {}", shown, at + 1);
  };
  for (std::size_t i = 0; i < assignment.size();) {
    const auto c = static_cast<unsigned char>(assignment[i]);
    if (c < 0x20 || c == 0x7f) throw aiway::ScenarioError(fmt::format("{}: a control character (line break, tab ...) "
                                                                      "is not allowed in a value", where(i)));
    const int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = length > 0 && i + std::size_t(length) <= assignment.size();
    for (int k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(assignment[i + k]) >> 6) == 0x2;
    if (ok && length == 2) ok = c >= 0xc2;  // no overlong forms
    if (!ok) throw aiway::ScenarioError(fmt::format("{}: not valid UTF-8", where(i)));
    i += std::size_t(length);
  }
}

void check_assignments(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) check_assignment_text(a);
}

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
  std::uint32_t confirm = 0;  // --confirm N: more repetitions for inconclusive gating verdicts
  std::string sla_search;     // FIELD=LOW..HIGH
  std::string shard;          // K/N (HTTP targets)
  std::optional<double> start_at;  // Unix time (HTTP targets)
};

// The results of a run whose named output could not be written, kept in the
// temporary folder under a name that says when and by whom, and said where.
void rescue_results(const aiway::RunResults& results) {
  const std::filesystem::path rescue =
      aiway::temporary_base() / fmt::format("aiway-stress-results-{}-{:.0f}.json", getpid(), aiway::unix_time_s());
  try {
    aiway::write_file_atomically(rescue, aiway::results_json_text(results));
    std::cerr << fmt::format("aiway-stress: the results are kept in {}\n", rescue.string());
  } catch (const aiway::OutputError& e) {
    std::cerr << fmt::format("aiway-stress: the results could not be kept anywhere: {}\n", e.what());
  }
}

int run_command(const RunArgs& args, const std::filesystem::path& dir) {
  check_assignments(args.sets);
  // --shard and --start-at are fields of the HTTP target: they reach worker
  // processes and the results like any other.
  std::vector<std::string> sets = args.sets;
  if (!args.shard.empty()) sets.push_back("target.shard=" + args.shard);
  // -r and --warmup before the cross-field checks, which involve them (a common start time).
  if (args.repetitions) sets.push_back(fmt::format("repetitions={}", *args.repetitions));
  if (args.warmup) sets.push_back(fmt::format("warmup={}", *args.warmup));
  if (args.start_at) sets.push_back(fmt::format("target.start_at={}", *args.start_at));
  std::optional<aiway::SlaSearch> sla;
  if (!args.sla_search.empty()) {
    sla = aiway::parse_sla_search(args.sla_search);
    if (!args.sweeps.empty()) throw aiway::ScenarioError("run: --sla-search chooses the values itself: leave out --sweep");
  }
  std::vector<aiway::Scenario> scenarios;
  std::vector<std::string> names = args.scenarios;
  if (args.all)
    for (const auto& e : aiway::list_scenarios(dir)) names.push_back(e.file.string());
  if (names.empty()) throw aiway::ScenarioError("run: name a scenario with --scenario NAME|FILE, or use --all");
  for (const auto& name : names) {
    aiway::Scenario s = load_with_overrides(name, dir, sets);
    if (args.repetitions) s.repetitions = *args.repetitions;
    if (args.warmup) s.warmup = *args.warmup;
    // The same scenario twice (-s X -s X, or -s X --all) runs once: two results
    // of one name would be compared, pooled and linked as if they were one.
    if (std::any_of(scenarios.begin(), scenarios.end(), [&](const auto& t) { return t.name == s.name; })) {
      std::cerr << fmt::format("aiway-stress: scenario {} is named more than once: it runs once\n", s.name);
      continue;
    }
    scenarios.push_back(std::move(s));
  }
  if (sla) {
    if (scenarios.size() != 1) throw aiway::ScenarioError("run: --sla-search searches one scenario: name exactly one");
    aiway::Scenario check = scenarios.front();  // a bad field or bound is an input error now, not after the first probe
    aiway::apply_overrides(check, {fmt::format("{}={}", sla->field, sla->low)});
    aiway::apply_overrides(check, {fmt::format("{}={}", sla->field, sla->high)});
  }
  // With --sweep, each scenario runs once per combination, as a scenario of its own.
  const std::vector<aiway::SweepVariant> variants = aiway::expand_sweeps(scenarios, args.sweeps);
  scenarios.clear();
  const std::int64_t available = aiway::mem_available_bytes();
  for (auto v : variants) {
    aiway::resolve_stages(v.scenario);  // a sweep may choose another implementation or its parameters
    aiway::check_memory_budget(v.scenario, available);  // one at a time: variants run one after another
    aiway::target_of(v.scenario).check_before_run(v.scenario, aiway::unix_time_s());
    scenarios.push_back(v.scenario);
  }
  // Every output path is checked before minutes of work, not after.
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"json", args.out},       {"markdown", args.out_markdown}, {"junit", args.out_junit},
      {"gbench", args.out_gbench}, {"bmf", args.out_bmf},         {"openmetrics", args.out_openmetrics},
      {"hlog", args.out_hlog}};
  const std::string save_baseline = baseline_path_for(args.save_baseline);
  std::vector<std::string> inputs = {args.baseline};
  for (const auto& s : scenarios) inputs.push_back(s.source);
  aiway::check_outputs({{"--out", args.out}, {"--out-markdown", args.out_markdown}, {"--out-junit", args.out_junit},
                        {"--out-gbench", args.out_gbench}, {"--out-bmf", args.out_bmf},
                        {"--out-openmetrics", args.out_openmetrics}, {"--out-hlog", args.out_hlog},
                        {"--save-baseline", save_baseline}},
                       inputs);
  std::optional<aiway::RunResults> baseline;
  if (!args.baseline.empty()) baseline = aiway::load_results_file(args.baseline);
  policies_with(args.compare.thresholds);  // a bad --threshold is an input error before the run, as in compare
  for (const auto& s : scenarios) aiway::gating_metrics(s);  // and so is a bad [compare] gating list

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGHUP, on_signal);

  const aiway::Clock clock = aiway::Clock::detect();
  aiway::RunResults results;
  results.tool = aiway::describe_tool();
  // A stage compiled without optimisation measures a debug build: said once, and kept in the results.
  for (const auto& s : scenarios)
    for (const std::string& stage : aiway::target_of(s).unoptimized_stages(s))
      if (std::find(results.tool.unoptimized_stages.begin(), results.tool.unoptimized_stages.end(), stage) ==
          results.tool.unoptimized_stages.end()) {
        results.tool.unoptimized_stages.push_back(stage);
        std::cerr << fmt::format("aiway-stress: WARNING: the {} was compiled without optimisation: its figures are a "
                                 "debug build's (build it with -DCMAKE_BUILD_TYPE=Release)\n", stage);
      }
  results.machine = aiway::describe_machine(clock);
  results.started_at = utc_now();
  for (const auto& s : scenarios) results.planned_repetitions += s.repetitions;

  const bool progress = !args.quiet && isatty(STDERR_FILENO);
  if ((args.calibrate || args.all) && !args.no_calibrate) {
    if (progress) std::cerr << "calibrating ..." << std::flush;
    results.machine.calibration = aiway::calibrate(clock);
    if (progress) std::cerr << "\r\x1b[2K" << std::flush;
  }
  aiway::RunPlan plan{scenarios, args.processes, args.interleave && scenarios.size() > 1, &g_interrupted, {}, {}};
  // The progress line: where the run is, the last repetition's figures, re-runs
  // of disturbed repetitions, and the time left at the pace so far.
  std::uint64_t planned = 0, taken = 0;
  for (const auto& s : scenarios) planned += s.warmup + s.repetitions;
  const std::int64_t run_start = aiway::monotonic_ns();
  std::string last_figures, last_scenario;
  plan.on_event = [&](const aiway::RunEvent& e) {
    if (!progress) return;
    using Kind = aiway::RunEvent::Kind;
    if (e.scenario.name != last_scenario) last_figures.clear();
    last_scenario = e.scenario.name;
    if (e.kind != Kind::repetition_started) {
      ++taken;
      if (e.kind == Kind::repetition_discarded) ++planned;  // it is taken again
      const aiway::Metrics& m = e.repetition->metrics;
      last_figures = fmt::format(" · last {} tok/s", aiway::plain_number(m.get("throughput_tps").value_or(0)));
      if (const auto p99 = m.get("latency_p99_us")) last_figures += fmt::format(", p99 {} us", aiway::plain_number(*p99));
      if (e.kind == Kind::repetition_discarded) last_figures += " (disturbed: taken again)";
      return;
    }
    std::string eta;
    if (taken > 0 && planned > taken) {
      const double per = double(aiway::monotonic_ns() - run_start) / 1e9 / double(taken);
      const auto left = std::int64_t(per * double(planned - taken) + 0.5);
      eta = fmt::format(" · ETA {}:{:02}", left / 60, left % 60);
    }
    std::cerr << fmt::format("\r\x1b[2K[{}] {} {}/{}{}{}{} ...", e.scenario.name, e.warmup ? "warm-up" : "repetition",
                             e.index, e.count, e.reruns ? fmt::format(" ({} re-run{})", e.reruns, e.reruns == 1 ? "" : "s") : "",
                             last_figures, eta)
              << std::flush;
  };
  plan.on_process_started = [&](std::uint32_t worker, std::uint32_t count) {
    if (progress) std::cerr << fmt::format("\r\x1b[2K[worker process {}/{}] ...", worker, count) << std::flush;
  };
  const aiway::ConsoleStyle style{use_color(), args.spectrum, args.verbose};
  bool failed_run = false;
  results.method = {plan.processes, plan.interleave};
  const auto show = [&](const aiway::ScenarioResult& r) {
    if (progress) std::cerr << "\r\x1b[2K" << std::flush;
    if (args.format == "console") {
      if (args.quiet) std::cout << fmt::format("{} {}\n", r.passed ? "PASS" : "FAIL", r.scenario.name);
      else aiway::print_scenario(r, style, std::cout);
      std::cout << std::flush;
    }
  };
  std::optional<aiway::SlaOutcome> sla_outcome;
  if (sla) {
    // Each probe is a plan of its own; a probe that fails (a timeout under too
    // much load) is a load at which the service levels do not hold, not a failed run.
    sla_outcome = aiway::sla_search(
        scenarios.front(), *sla,
        [&](const aiway::Scenario& s) {
          aiway::RunPlan probe = plan;
          probe.scenarios = {s};
          aiway::resolve_stages(probe.scenarios.front());
          aiway::ScenarioResult result;
          aiway::execute(probe, clock, results.interrupted, [&](aiway::ScenarioResult r) { result = std::move(r); });
          show(result);
          return result;
        },
        [&] { return results.interrupted; });
    results.scenarios = std::move(sla_outcome->probes);
  } else {
    aiway::execute(plan, clock, results.interrupted, [&](aiway::ScenarioResult r) {
      show(r);
      failed_run |= !r.failure.empty();
      results.scenarios.push_back(std::move(r));
    });
  }
  if (sla) {
    if (args.format == "console" && !args.quiet) aiway::print_sweep_table(aiway::sweep_table(results), false, std::cout);
    (args.format == "console" ? std::cout : std::cerr) << aiway::describe(*sla, *sla_outcome) << "\n";
  } else if (!args.sweeps.empty()) {
    for (std::size_t i = 0; i < results.scenarios.size(); ++i) results.scenarios[i].sweep = variants[i].combination;
    if (args.format == "console" && !args.quiet) aiway::print_sweep_table(aiway::sweep_table(results), false, std::cout);
  }
  if (args.format == "console" && (results.scenarios.size() > 1 || results.interrupted)) {
    aiway::print_run_summary(results, style, std::cout);
    std::cout << std::flush;
  }
  results.passed = !results.interrupted && !failed_run &&
                   std::all_of(results.scenarios.begin(), results.scenarios.end(), [](const auto& r) { return r.passed; });
  // A search passes when it found a load that holds: the probes above it miss by design.
  if (sla_outcome) results.passed = !results.interrupted && sla_outcome->highest.has_value();
  // Files first: a closed standard output (| head) must never cost them.
  // Every output that can be written is written: one that fails (a full
  // disk) is reported and costs none of the others, and the results are
  // never lost: they go to a named file in the temporary folder instead.
  bool outputs_failed = false;
  const auto write_outputs = [&] {
    bool results_lost = false;
    for (const auto& [format, path] : outputs) {
      if (path.empty()) continue;
      std::ostringstream text;
      aiway::make_file_reporter(format)->report(results, text);
      try {
        aiway::write_file_atomically(path, text.str());
        if (!args.quiet) std::cerr << fmt::format("{} written to {}\n", format == "json" ? "results" : format, path);
      } catch (const aiway::OutputError& e) {
        std::cerr << fmt::format("aiway-stress: {}\n", e.what());
        outputs_failed = true;
        results_lost = true;
      }
    }
    if (results_lost) rescue_results(results);
  };
  write_outputs();
  if (args.format != "console") aiway::make_file_reporter(args.format)->report(results, std::cout);
  if (results.interrupted) std::cerr << fmt::format("aiway-stress: {}\n", aiway::describe_interrupted(results));
  if (!save_baseline.empty() && (results.interrupted || failed_run))
    std::cerr << fmt::format("aiway-stress: no baseline written to {}: the run {}\n", save_baseline,
                             results.interrupted ? "was interrupted" : "failed");
  if (results.interrupted) return kInterrupted;
  if (failed_run) {
    for (const auto& r : results.scenarios)
      if (!r.failure.empty()) std::cerr << fmt::format("aiway-stress: {}: {}\n", r.scenario.name, r.failure);
    return kRuntimeFailure;
  }
  if (!save_baseline.empty()) {
    write_baseline(results, aiway::results_json_text(results, /*compact=*/true), "this run", save_baseline);
  }
  if (baseline) {
    // Standard output may carry JSON/XML already: then the comparison goes to stderr.
    std::ostream& out = args.format == "console" ? std::cout : std::cerr;
    CompareArgs look = args.compare;
    // With confirmation there are two looks at the data: each at alpha / 2, so
    // that the chance of a false alarm over both stays at most alpha.
    if (args.confirm > 0) look.options.alpha /= 2;
    aiway::Comparison first;
    int verdict = gate(*baseline, results, look, out, &first);
    std::vector<std::size_t> doubtful;  // scenarios with an inconclusive gating verdict
    for (std::size_t i = 0; i < results.scenarios.size(); ++i)
      for (const auto& sc : first.scenarios)
        if (sc.scenario == results.scenarios[i].scenario.name &&
            std::any_of(sc.metrics.begin(), sc.metrics.end(),
                        [&](const auto& m) { return first.decides(m) && m.verdict == aiway::Verdict::inconclusive; }))
          doubtful.push_back(i);
    if (args.confirm > 0 && !doubtful.empty() && !first.regressed()) {
      aiway::WorkerPlan plan{{}, args.confirm, false, &g_interrupted, nullptr};
      for (std::size_t i : doubtful) {
        aiway::Scenario s = results.scenarios[i].scenario;
        s.repetitions = args.confirm;
        plan.scenarios.push_back(std::move(s));
      }
      out << fmt::format("\nconfirming: {} more repetition{} of {} scenario{} in fresh processes, then deciding again "
                         "(each look at alpha = {:.3g})\n",
                         args.confirm, args.confirm == 1 ? "" : "s", doubtful.size(), doubtful.size() == 1 ? "" : "s",
                         look.options.alpha);
      bool interrupted = false;
      auto more = aiway::run_in_worker_processes(plan, interrupted);
      for (std::size_t k = 0; k < doubtful.size(); ++k) {
        aiway::ScenarioResult& into = results.scenarios[doubtful[k]];
        if (!more[k].failure.empty()) into.failure = "confirmation: " + more[k].failure;
        aiway::append_repetitions(into, std::move(more[k]));
        aiway::finalize_result(into, interrupted);
      }
      results.method.processes += args.confirm;
      results.planned_repetitions += std::uint64_t(args.confirm) * doubtful.size();
      results.interrupted |= interrupted;
      write_outputs();
      if (interrupted) return kInterrupted;
      verdict = gate(*baseline, results, look, out);
    }
    if (outputs_failed) return kRuntimeFailure;
    if (verdict != kPass) return verdict;
  }
  if (outputs_failed) return kRuntimeFailure;
  return results.passed ? kPass : kFailed;
}

}  // namespace

// A path option given as "" is an error, not the option left unset.
const CLI::Validator kPath(
    [](std::string& value) { return value.empty() ? std::string("an empty path names no file") : std::string(); },
    "PATH", "path");

int dispatch(int argc, char** argv, const char* package_scenarios_dir) {
  CLI::App app{"aiway-stress: stress benchmarks for token-streaming pipelines"};
  app.set_version_flag("--version", std::string(AIWAY_VERSION));
  app.require_subcommand(1);
  std::string scenarios_dir = default_scenarios_dir(package_scenarios_dir).string();
  app.add_option("--scenarios-dir", scenarios_dir, "Folder of scenario files (default: ./scenarios, $AIWAY_SCENARIOS_DIR)")
      ->check(CLI::ExistingDirectory);

  auto* list = app.add_subcommand("list", "List the scenarios with one-line descriptions");

  std::string show_name;
  std::vector<std::string> show_sets;
  auto* metrics = app.add_subcommand("metrics", "Print the metric table (name, unit, direction, default threshold, meaning) as Markdown");
  auto* stages = app.add_subcommand("stages", "List the stage implementations this binary has, with their parameters");
  auto* show = app.add_subcommand("show", "Print a scenario fully resolved (every default filled in)");
  show->add_option("scenario", show_name, "Scenario name or file")->required();
  show->add_option("--set", show_sets, "Override a field: SECTION.KEY=VALUE (repeatable)");

  std::string validate_file;
  auto* validate = app.add_subcommand("validate", "Check a scenario file; exit 0 when valid, 2 with the error otherwise");
  validate->add_option("file", validate_file, "Scenario name or file")->required();

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run scenarios and report");
  run->add_option("-s,--scenario", run_args.scenarios, "Scenario name (from the scenarios folder) or file; repeatable");
  run->add_flag("--all", run_args.all, "Run every scenario in the scenarios folder, one after another");
  run->add_option("--set", run_args.sets, "Override a field for this run: SECTION.KEY=VALUE (repeatable)");
  run->add_option("-r,--repetitions", run_args.repetitions, "Measured repetitions per scenario")->check(CLI::Range(1, 1000));
  run->add_option("--warmup", run_args.warmup, "Warm-up repetitions (not counted)")->check(CLI::Range(0, 100));
  run->add_option("-o,--out,--out-json", run_args.out, "Write the results JSON here (atomically)")->check(kPath);
  run->add_option("--out-markdown", run_args.out_markdown, "Write a Markdown summary here")->check(kPath);
  run->add_option("--out-junit", run_args.out_junit, "Write JUnit XML here")->check(kPath);
  run->add_option("--out-gbench", run_args.out_gbench, "Write Google Benchmark JSON here")->check(kPath);
  run->add_option("--out-bmf", run_args.out_bmf, "Write Bencher Metric Format JSON here (every tracked metric, with its interval)")
      ->check(kPath);
  run->add_option("--out-openmetrics", run_args.out_openmetrics,
                  "Write OpenMetrics text here (gauges and a latency histogram; for node_exporter or a Pushgateway)")
      ->check(kPath);
  run->add_option("--out-hlog", run_args.out_hlog,
                  "Write an HdrHistogram interval log here (each repetition's end-to-end latency histogram, in ns)")
      ->check(kPath);
  run->add_option("--format", run_args.format, "Standard output format")
      ->check(CLI::IsMember({"console", "json", "markdown", "junit", "gbench", "bmf", "openmetrics", "hlog"}));
  run->add_flag("-q,--quiet", run_args.quiet, "No progress, and one PASS/FAIL line per scenario instead of the report");
  run->add_flag("-v,--verbose", run_args.verbose, "Also each repetition's headline figures (a bimodal spread shows)");
  run->add_option("--sweep", run_args.sweeps,
                  "Run every combination of values: SECTION.KEY=V1,V2,... (repeatable: several form a grid)");
  run->add_flag("--interleave", run_args.interleave,
                "With several scenarios, take turns one repetition at a time (A B C A B C ...), so drift spreads evenly");
  run->add_option("--processes", run_args.processes,
                  "Spread each scenario's repetitions over N fresh worker processes (each with its own warm-up)")
      ->check(CLI::Range(1, 1000));
  // Two flags, not one optional: CLI11 sets an optional<bool> flag to false when it is absent.
  run->add_flag("--calibrate", run_args.calibrate,
                "Score the machine first (a few seconds) and store it in the results; default: on with --all");
  run->add_flag("--no-calibrate", run_args.no_calibrate, "Do not calibrate, even with --all");
  run->add_flag("--spectrum", run_args.spectrum, "Print the latency percentile spectrum (HdrHistogram layout)");

  run->add_option("--baseline", run_args.baseline, "Compare the results with this baseline (results file); exit 1 on a regression")
      ->check(CLI::ExistingFile);
  run->add_option("--save-baseline", run_args.save_baseline,
                  "Also store the results as a baseline: NAME (baselines/NAME.json) or FILE; not for a failed or interrupted run")
      ->check(kPath);
  add_compare_options(run, run_args.compare, true);
  run->add_option("--sla-search", run_args.sla_search,
                  "Find the highest load at which the [slo] objectives hold, by bisection over repeated runs: "
                  "SECTION.KEY=LOW..HIGH (e.g. backend.streams=1..1024); exit 1 when even LOW misses them");
  run->add_option("--shard", run_args.shard,
                  "HTTP targets: run only the K-th of N disjoint slices of the streams (K/N); merge combines the shards")
      ->check([](const std::string& v) { return aiway::parse_shard(v) ? std::string() : "expected K/N with 1 <= K <= N"; });
  run->add_option("--start-at", run_args.start_at,
                  "HTTP targets: start the streams' schedule at this Unix time (seconds), so shards start together");
  run->add_option("--confirm", run_args.confirm,
                  "With --baseline: when a gating verdict is inconclusive, take N more repetitions in fresh processes "
                  "and decide again")
      ->check(CLI::Range(1, 1000));

  std::string compare_base, compare_new;
  CompareArgs compare_args;
  auto* compare = app.add_subcommand("compare", "Compare two results files: verdict per scenario and metric");
  compare->add_option("base", compare_base, "Base (e.g. a baseline) results file")->check(kPath)->required();
  compare->add_option("new", compare_new, "New results file")->check(kPath)->required();
  compare->add_option("--format", compare_args.format, "console, markdown or json")->check(CLI::IsMember({"console", "markdown", "json"}));
  add_compare_options(compare, compare_args, true);
  compare->add_flag("-q,--quiet", compare_args.quiet, "Print the verdict line only");

  std::string calibrate_format = "console";
  auto* calibrate = app.add_subcommand("calibrate", "Score this machine on a short fixed workload (a few seconds)");
  calibrate->add_option("--format", calibrate_format, "console or json")->check(CLI::IsMember({"console", "json"}));
  std::uint32_t raw_hop_size = 0;
  std::uint64_t raw_hop_tokens = 1'000'000;
  auto* raw_hop = calibrate->add_option("--raw-hop", raw_hop_size, "Only time one raw moodycamel hop of tokens of this many bytes")
      ->check(CLI::Range(1u, 1'048'576u));
  calibrate->add_option("--tokens", raw_hop_tokens, "Tokens for --raw-hop (default 1,000,000)")
      ->check(CLI::Range(std::uint64_t(1), std::uint64_t(100'000'000)))
      ->needs(raw_hop);

  std::string report_file, report_baseline, report_html;
  auto* report = app.add_subcommand("report", "Render a results file as a self-contained HTML page with SVG charts");
  report->add_option("results", report_file, "Results file (from run --out)")->check(kPath)->required();
  report->add_option("--baseline", report_baseline, "Overlay and compare with this baseline (results file)")->check(kPath);
  report->add_option("--html", report_html, "The HTML file to write (atomically)")->check(kPath)->required();
  CompareArgs report_compare;
  add_compare_options(report, report_compare, false);

  std::vector<std::string> baseline_from;
  std::string baseline_out;
  auto* baseline = app.add_subcommand("baseline", "Manage baselines");
  auto* baseline_update = baseline->add_subcommand("update", "Check a results file and store it as a baseline (atomically)");
  baseline->require_subcommand(1);
  baseline_update->add_option("--from", baseline_from,
                              "Results file (from run --out); repeat it to pool several runs' repetitions into one baseline")
      ->check(kPath)->required();
  baseline_update->add_option("--out", baseline_out, "Baseline file to write, e.g. baselines/ci-2cpu.json")->check(kPath)->required();

  std::string ab_old, ab_new, ab_out_old, ab_out_new;
  std::vector<std::string> ab_scenarios, ab_sets;
  bool ab_all = false;
  std::uint32_t ab_repetitions = 5, ab_warmup = 1;
  CompareArgs ab_compare;
  auto* ab = app.add_subcommand("ab", "Test a change: two builds, fresh processes in ABBA order, compared by the gate");
  ab->add_option("old", ab_old, "The old aiway-stress binary, or a build folder holding one")->required()->check(kPath);
  ab->add_option("new", ab_new, "The new aiway-stress binary, or a build folder holding one")->required()->check(kPath);
  ab->add_option("-s,--scenario", ab_scenarios, "Scenario name or file; repeatable");
  ab->add_flag("--all", ab_all, "Every scenario in the scenarios folder");
  ab->add_option("--set", ab_sets, "Override a field for both builds: SECTION.KEY=VALUE (repeatable)");
  ab->add_option("-r,--repetitions", ab_repetitions, "Repetitions per build, each a fresh process (default 5)")
      ->check(CLI::Range(1, 1000));
  ab->add_option("--warmup", ab_warmup, "Warm-up repetitions in each process (default 1)")->check(CLI::Range(0, 100));
  ab->add_option("--out-old", ab_out_old, "Write the old build's pooled results here")->check(kPath);
  ab->add_option("--out-new", ab_out_new, "Write the new build's pooled results here")->check(kPath);
  ab->add_option("--format", ab_compare.format, "console, markdown or json")->check(CLI::IsMember({"console", "markdown", "json"}));
  add_compare_options(ab, ab_compare, true);
  ab->add_flag("-q,--quiet", ab_compare.quiet, "Print the verdict line only");

  auto* merge = app.add_subcommand("merge", "Combine runs of one workload from several processes or machines into one result");
  std::vector<std::string> merge_files;
  std::string merge_out;
  merge->add_option("files", merge_files, "Results files (of one workload each scenario)")->required()->check(kPath);
  merge->add_option("--out", merge_out, "Write the merged results JSON here")->required()->check(kPath);
  auto* history = app.add_subcommand("history", "The nightly history: store runs, judge a run against it, find change points");
  history->require_subcommand(1);
  std::string history_db, history_results, history_format = "console";
  std::size_t history_last = 14;
  double history_alpha = 0.05, history_p = 0.001;
  bool history_fail_on_inconclusive = false;
  auto* history_add = history->add_subcommand("add", "Store a results file's gating metrics in the history database");
  history_add->add_option("results", history_results, "Results file (from run --out)")->required()->check(kPath);
  history_add->add_option("--db", history_db, "History database (SQLite; created on first use)")->required()->check(kPath);
  auto* history_check = history->add_subcommand("check", "Judge a run against the last N runs of the same machine");
  history_check->add_option("results", history_results, "Results file (from run --out)")->required()->check(kPath);
  history_check->add_option("--db", history_db, "History database")->required()->check(kPath);
  history_check->add_option("--last", history_last, "Judge against this many earlier runs (default 14)")->check(CLI::Range(2, 100000));
  history_check->add_option("--alpha", history_alpha, "Significance level")->check(CLI::Range(0.0001, 0.5));
  history_check->add_flag("--fail-on-inconclusive", history_fail_on_inconclusive, "Exit 4 when a verdict is inconclusive");
  history_check->add_option("--format", history_format, "console or json")->check(CLI::IsMember({"console", "json"}));
  auto* history_changes = history->add_subcommand("changes", "Find change points over every series of the history");
  history_changes->add_option("--db", history_db, "History database")->required()->check(kPath);
  history_changes->add_option("--p", history_p, "Significance of a change point's t-test (default 0.001)")->check(CLI::Range(1e-12, 0.5));
  history_changes->add_option("--format", history_format, "console or json")->check(CLI::IsMember({"console", "json"}));

  auto* conductor = app.add_subcommand(
      "conductor", "Serve as the reference ai-way conductor on a Unix socket (what target scenarios run against)");
  aiway::ReferenceConductorOptions conductor_options;
  bool conductor_legacy = false;
  conductor->add_option("--socket,-s", conductor_options.socket, "Socket path (default: $CONDUCTOR_SOCKET)")->check(kPath);
  conductor->add_flag("--legacy", conductor_legacy, "Every behaviour of the real daemon below, and its 30 s upstream deadline");
  conductor->add_flag("--lossy-queue", conductor_options.lossy_queue, "A full 256-slot surface queue drops the message");
  conductor->add_flag("--broadcast-acks", conductor_options.broadcast_acks, "Every Ack goes to every surface");
  conductor->add_flag("--preempt-silently", conductor_options.preempt_silently, "A new message abandons the stream without an end");
  conductor->add_flag("--wedge-on-bad-frame", conductor_options.wedge_on_bad_frame, "An undecodable frame kills that connection's input");
  conductor->add_option("--upstream-deadline-ms", conductor_options.upstream_deadline_ms,
                        "Total deadline per upstream request, body included (0: none)")->check(CLI::Range(0.0, 86400e3));
  conductor->add_flag("--hang-on-empty-answer", conductor_options.hang_on_empty_answer, "EOF with zero tokens sends nothing");
  conductor->add_flag("--hold-events-for-headers", conductor_options.hold_events_for_headers,
                      "No event is handled while waiting for the upstream's headers");
  conductor->add_flag("--busy-poll", conductor_options.busy_poll, "The token forwarder polls in a yielding loop");
  conductor->add_flag("--shared-rate-limit", conductor_options.shared_rate_limit, "One message limit for all surfaces");
  conductor->add_flag("--chunk-utf8", conductor_options.chunk_utf8, "Decode each body read as UTF-8 on its own");
  conductor->add_flag("--frame-per-write", conductor_options.frame_per_write, "Write each message on its own, never batched");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "aiway-stress: " << e.what() << " (see --help)\n";
    return kInputError;
  }

  try {
    if (*conductor) {
      try {
        conductor_options.read_environment();
      } catch (const std::invalid_argument& e) {
        std::cerr << "aiway-stress: conductor: " << e.what() << "\n";
        return kInputError;
      }
      if (conductor_legacy) conductor_options.set_legacy();
      if (conductor_options.socket.empty()) {
        const char* env = std::getenv("CONDUCTOR_SOCKET");
        if (!env || !*env) {
          std::cerr << "aiway-stress: conductor: name the socket with --socket PATH or CONDUCTOR_SOCKET\n";
          return kInputError;
        }
        conductor_options.socket = env;
      }
      if (conductor_options.socket.size() > aiway::net::kMaxUnixPath) {
        std::cerr << fmt::format("aiway-stress: conductor: --socket {}: {} bytes, a Unix socket path holds at most {}\n",
                                 conductor_options.socket, conductor_options.socket.size(), aiway::net::kMaxUnixPath);
        return kInputError;
      }
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      aiway::run_reference_conductor(conductor_options, g_interrupted);
      return kPass;
    }
    if (*metrics) {
      std::cout << aiway::metric_table_markdown();
      return kPass;
    }
    if (*merge) {
      aiway::check_outputs({{"--out", merge_out}}, merge_files);
      std::vector<aiway::RunResults> runs;
      for (const auto& file : merge_files) runs.push_back(aiway::load_results_file(file));
      const aiway::RunResults merged = aiway::merge_runs(std::move(runs), merge_files);
      aiway::write_file_atomically(merge_out, aiway::results_json_text(merged));
      for (const auto& s : merged.scenarios) {
        if (!s.merged) {
          std::cout << fmt::format("{}: {} repetitions (no latency measured)\n", s.scenario.name, s.repetitions.size());
          continue;
        }
        const aiway::MergedLatency& m = *s.merged;
        std::cout << fmt::format("{}: {} repetitions from {} run{}, {} latencies: p50 {:.1f} us  p90 {:.1f} us  "
                                 "p99 {:.1f} us  p99.9 {:.1f} us  max {:.1f} us (from the merged histogram)\n",
                                 s.scenario.name, m.repetitions, m.runs, m.runs == 1 ? "" : "s", m.tokens, m.p50_us, m.p90_us,
                                 m.p99_us, m.p999_us, m.max_us);
      }
      std::cerr << fmt::format("merged results written to {}\n", merge_out);
      return kPass;
    }
    if (*stages) {
      print_stages(std::cout);
      return kPass;
    }
    if (*list) {
      for (const auto& e : aiway::list_scenarios(scenarios_dir))
        std::cout << fmt::format("{:<18} {}\n", e.name, e.description);
      return kPass;
    }
    if (*show) {
      check_assignments(show_sets);
      std::cout << aiway::scenario_to_toml(load_with_overrides(show_name, scenarios_dir, show_sets));
      return kPass;
    }
    if (*validate) {
      auto s = aiway::load_scenario_file(aiway::resolve_scenario(validate_file, scenarios_dir));
      aiway::resolve_stages(s);
      std::cout << fmt::format("{}: valid scenario \"{}\"\n", validate_file, s.name);
      return kPass;
    }
    if (*run) return run_command(run_args, scenarios_dir);
    if (*ab) {
      check_assignments(ab_sets);
      policies_with(ab_compare.thresholds);
      aiway::check_outputs({{"--out-old", ab_out_old}, {"--out-new", ab_out_new}}, {});
      if (ab_scenarios.empty() && !ab_all) throw aiway::ScenarioError("ab: name a scenario with --scenario NAME|FILE, or use --all");
      for (const auto& name : ab_scenarios) load_with_overrides(name, scenarios_dir, ab_sets);  // bad input: exit 2 now
      aiway::AbPlan plan;
      plan.old_binary = aiway::resolve_binary(ab_old, "OLD");
      plan.new_binary = aiway::resolve_binary(ab_new, "NEW");
      plan.scenarios_dir = std::filesystem::absolute(scenarios_dir);
      for (const auto& name : ab_scenarios) {
        // A scenario file is passed as an absolute path: the processes run elsewhere.
        const bool file = name.find('/') != std::string::npos || name.ends_with(".toml");
        plan.run_args.insert(plan.run_args.end(), {"--scenario", file ? std::filesystem::absolute(name).string() : name});
      }
      if (ab_all) plan.run_args.push_back("--all");
      for (const auto& set : ab_sets) plan.run_args.insert(plan.run_args.end(), {"--set", set});
      plan.repetitions = ab_repetitions;
      plan.warmup = ab_warmup;
      plan.interrupt = &g_interrupted;
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      if (isatty(STDERR_FILENO))
        std::cerr << fmt::format("ab: {} processes of each build, ABBA order ...\n", ab_repetitions);
      const aiway::AbOutcome outcome = aiway::run_ab(plan);
      for (const auto& [path, side] : {std::pair{ab_out_old, &outcome.old_side}, std::pair{ab_out_new, &outcome.new_side}})
        if (!path.empty()) {
          std::ostringstream text;
          aiway::make_file_reporter("json")->report(*side, text);
          aiway::write_file_atomically(path, text.str());
        }
      for (const auto& f : outcome.failures) std::cerr << "aiway-stress: ab: " << f << "\n";
      if (outcome.interrupted) return kInterrupted;
      const int verdict = gate(outcome.old_side, outcome.new_side, ab_compare);
      if (verdict != kPass) return verdict;
      return outcome.failures.empty() ? kPass : kRuntimeFailure;
    }
    if (*history_add) {
      const aiway::RunResults results = aiway::load_results_file(history_results);
      aiway::HistoryDb db(history_db, /*create=*/true);
      const std::int64_t id = db.add(results);
      std::cerr << fmt::format("run {} added to {} ({} scenarios, git {}, machine {})\n", id, history_db,
                               results.scenarios.size(), results.tool.git, results.machine.fingerprint);
      return kPass;
    }
    if (*history_check) {
      const aiway::RunResults results = aiway::load_results_file(history_results);
      const aiway::HistoryDb db(history_db, /*create=*/false);
      const auto prior = [&](const std::string& scenario, const std::string& metric) {
        std::vector<double> medians;
        // Runs that started before this one: checking a run already added judges it against its past.
        for (const auto& p : db.series(results.machine.fingerprint, scenario, metric, history_last, results.started_at))
          medians.push_back(p.median);
        return medians;
      };
      const aiway::HistoryCheck check =
          aiway::check_against_history(results, prior, aiway::default_policies(), history_alpha);
      aiway::print_history_check(check, history_format, std::cout);
      if (check.regressed()) return kFailed;
      if (history_fail_on_inconclusive && check.inconclusive()) return kInconclusive;
      return kPass;
    }
    if (*history_changes) {
      const aiway::HistoryDb db(history_db, /*create=*/false);
      std::vector<aiway::SeriesChanges> all;
      for (const auto& fingerprint : db.fingerprints())
        for (const auto& [scenario, metric] : db.series_keys(fingerprint)) {
          const auto points = db.series(fingerprint, scenario, metric);
          std::vector<double> values;
          bool positive = true;
          for (const auto& p : points) positive &= p.median > 0;
          for (const auto& p : points) values.push_back(positive ? std::log(p.median) : p.median);
          aiway::SeriesChanges s{fingerprint, scenario, metric, points.size(), {}};
          for (const auto& c : aiway::change_points(values, history_p)) {
            aiway::ChangePoint shown = c;  // means as figures, not logs
            if (positive) {
              shown.mean_before = std::exp(c.mean_before);
              shown.mean_after = std::exp(c.mean_after);
            }
            s.changes.push_back({shown, points[c.index].run.started_at, points[c.index].run.git, points[c.index].run.id});
          }
          all.push_back(std::move(s));
        }
      aiway::print_history_changes(all, history_format, std::cout);
      return kPass;
    }
    if (*report) {
      aiway::check_outputs({{"--html", report_html}}, {report_file, report_baseline});
      const aiway::RunResults results = aiway::load_results_file(report_file);
      std::optional<aiway::RunResults> base;
      std::optional<aiway::Comparison> comparison;
      if (!report_baseline.empty()) {
        base = aiway::load_results_file(report_baseline);
        comparison = aiway::compare_results(*base, results, policies_with(report_compare.thresholds), report_compare.options);
      }
      aiway::write_file_atomically(report_html, aiway::html_report(results, base ? &*base : nullptr,
                                                                   comparison ? &*comparison : nullptr));
      std::cerr << fmt::format("report written to {}\n", report_html);
      return kPass;
    }
    if (*calibrate && raw_hop_size > 0) {
      const double rate = aiway::warm_raw_hop_rate(raw_hop_tokens, raw_hop_size);
      std::cout << (calibrate_format == "json" ? fmt::format("{{\"raw_hop_tokens_per_s\": {}}}\n", rate)
                                               : fmt::format("raw hop: {:.3f} M tokens/s of {} bytes\n", rate / 1e6,
                                                             raw_hop_size));
      return kPass;
    }
    if (*calibrate) {
      const aiway::Clock clock = aiway::Clock::detect();
      aiway::print_calibration(aiway::calibrate(clock), calibrate_format, std::cout);
      return kPass;
    }
    if (*compare) return gate(aiway::load_results_file(compare_base), aiway::load_results_file(compare_new), compare_args);
    if (*baseline_update) {
      aiway::check_outputs({{"--out", baseline_out}}, baseline_from);
      for (std::size_t i = 0; i < baseline_from.size(); ++i)
        for (std::size_t k = 0; k < i; ++k)
          if (std::filesystem::weakly_canonical(baseline_from[i]) == std::filesystem::weakly_canonical(baseline_from[k]))
            throw aiway::InputError(fmt::format("--from {}: given twice: pooling a run with itself would count its "
                                                "repetitions twice", baseline_from[i]));
      if (baseline_from.size() == 1) {
        // Checked as compare will read it, then written in the compact form baselines take.
        const std::string text = aiway::read_input_file(baseline_from[0], aiway::kMaxResultsBytes, "results file");
        const aiway::RunResults one = aiway::results_from_json_text(text, baseline_from[0]);
        write_baseline(one, aiway::results_json_text(one, /*compact=*/true), baseline_from[0], baseline_out);
        return kPass;
      }
      std::vector<aiway::RunResults> runs;
      for (const auto& file : baseline_from) runs.push_back(aiway::load_results_file(file));
      const aiway::RunResults pooled = aiway::pool_runs(std::move(runs), baseline_from);
      write_baseline(pooled, aiway::results_json_text(pooled, /*compact=*/true), fmt::format("{}", fmt::join(baseline_from, ", ")),
                     baseline_out);
      return kPass;
    }
  } catch (const aiway::InputError& e) {  // scenario, override, results file, output path
    std::cerr << "aiway-stress: " << e.what() << "\n";
    return kInputError;
  } catch (const std::exception& e) {
    std::cerr << "aiway-stress: internal error: " << e.what() << "\n";
    return kRuntimeFailure;
  }
  return kInputError;
}

int aiway::stress_main(int argc, char** argv, const char* scenarios_dir) {
  // A closed standard output (| head) is reported as a write error, never a
  // silent death by SIGPIPE that skips the files still to be written.
  std::signal(SIGPIPE, SIG_IGN);
  aiway::bind_to_parent();
  const int code = dispatch(argc, argv, scenarios_dir);
  std::cout.flush();
  if (std::cout.fail())
    std::cerr << "aiway-stress: standard output was closed before everything was printed (broken pipe); files named "
                 "with --out options were written first\n";
  return code;
}
