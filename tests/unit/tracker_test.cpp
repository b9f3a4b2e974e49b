// Every gating metric of every shipped scenario reaches the trackers' formats
// (Bencher's BMF and OpenMetrics): a gate that decides on a metric no tracker
// shows cannot be followed there.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "aiway/scenario_file.hpp"
#include "compare/verdict.hpp"
#include "report/reporter.hpp"

namespace aiway {
namespace {

TEST(Trackers, EveryGatingMetricOfEveryShippedScenarioIsExported) {
  std::size_t scenarios = 0;
  for (const auto& e : list_scenarios(AIWAY_SCENARIOS_DIR)) {
    ScenarioResult r;
    r.scenario = load_scenario_file(e.file);
    Repetition rep;
    const std::vector<std::string> gating = gating_metrics(r.scenario);
    ASSERT_FALSE(gating.empty()) << e.name;
    for (const std::string& g : gating) rep.metrics.set(g, 0.25);
    r.repetitions = {rep, rep};
    RunResults results;
    results.scenarios = {r};
    std::ostringstream bmf, openmetrics;
    make_file_reporter("bmf")->report(results, bmf);
    make_file_reporter("openmetrics")->report(results, openmetrics);
    const nlohmann::json parsed = nlohmann::json::parse(bmf.str());
    for (const std::string& g : gating) {
      const MetricDescriptor* m = find_metric(g);
      ASSERT_NE(m, nullptr) << e.name << ": " << g;
      EXPECT_TRUE(parsed["aiway/" + e.name].contains(g)) << e.name << ": " << g << " missing in BMF";
      const TrackerName name = tracker_name(*m);
      EXPECT_NE(openmetrics.str().find(name.name + "{scenario=\"" + e.name + "\""), std::string::npos)
          << e.name << ": " << g << " missing in OpenMetrics as " << name.name;
    }
    ++scenarios;
  }
  EXPECT_GE(scenarios, 20u);
}

TEST(Trackers, DerivedNamesAreInBaseUnits) {
  const TrackerName ttft = tracker_name(*find_metric("ttft_p99_us"));
  EXPECT_EQ(ttft.name, "aiway_ttft_p99_seconds");
  EXPECT_DOUBLE_EQ(ttft.scale, 1e-6);
}

// A failing value is never printed as its limit: 0.844 against ">= 1" must
// not read "1" (it did, through the digit grouping of a plain count).
TEST(ConsoleReport, AFailingValueNeverReadsAsItsLimit) {
  ScenarioResult r;
  r.scenario.name = "x";
  Repetition rep;
  rep.metrics.set("goodput_ratio", 0.844);
  r.repetitions = {rep};
  r.thresholds = {ThresholdResult{"goodput_ratio", ">=", 1, "median", 0.844, false},
                  ThresholdResult{"streams_failed", "<=", 0, "worst", 0.4, false}};
  std::ostringstream out;
  print_scenario(r, ConsoleStyle{}, out);
  EXPECT_NE(out.str().find("FAIL  goodput_ratio >= 100.00 % (median 84.40 %)"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("(worst 0)"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace aiway

namespace aiway {
namespace {

// A raw hop timed on a busy machine is slow by an unknown amount: the summary
// says so beside the ratios against it, and says nothing on a quiet one.
TEST(RunSummary, WarnsOfARawHopTimedOnABusyMachine) {
  RunResults results;
  ScenarioResult s;
  s.scenario.name = "1m-short";
  Repetition rep;
  rep.metrics.set("throughput_tps", 20e6);
  s.repetitions.push_back(rep);
  results.scenarios.push_back(s);
  Calibration c;
  c.score = 1;
  c.raw_hop_short_tokens_per_s = 10e6;
  c.raw_hop_medium_tokens_per_s = 5e6;
  c.foreign_cpu_share = 0.45;
  results.machine.calibration = c;
  std::ostringstream busy;
  print_run_summary(results, {}, busy);
  EXPECT_NE(busy.str().find("WARNING: the calibration's raw hop was timed while other work used 45 %"),
            std::string::npos) << busy.str();
  results.machine.calibration->foreign_cpu_share = 0.01;
  std::ostringstream quiet;
  print_run_summary(results, {}, quiet);
  EXPECT_EQ(quiet.str().find("WARNING: the calibration's raw hop"), std::string::npos) << quiet.str();
}

}  // namespace
}  // namespace aiway
