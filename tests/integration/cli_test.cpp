// Runs the built aiway-stress as a user would and checks exit codes and the
// results JSON. Seed scenarios are scaled down to keep the suite short.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "support/cli_runner.hpp"

namespace {

using namespace aiway_test;
namespace fs = std::filesystem;


constexpr int kAnyVerdict = -1;  // 0 or 1: performance limits depend on the machine (and sanitizers)

// Scaled-down seed scenario: fewer tokens, 2 repetitions, no warm-up. Tests
// assert integrity and structure, never speed, so a performance threshold may
// pass or fail; integrity thresholds are checked by expect_integrity_passed().
nlohmann::json run_scaled(const std::string& scenario, const std::string& extra, int expected_exit = kAnyVerdict) {
  const std::uint64_t tokens = under_sanitizer() ? 5'000 : 20'000;
  const fs::path out = scratch() / (scenario + ".json");
  const Outcome o = cli(fmt::format("run --scenario {} -r 2 --warmup 0 --set backend.messages={} {} --out {}", scenario,
                                    tokens, extra, out.string()));
  if (expected_exit == kAnyVerdict) EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.out << o.err;
  else EXPECT_EQ(o.exit_code, expected_exit) << o.out << o.err;
  return nlohmann::json::parse(slurp(out));
}

const nlohmann::json& rep_metrics(const nlohmann::json& results, int rep) {
  return results["scenarios"][0]["repetitions"][rep]["metrics"];
}

void expect_integrity_passed(const nlohmann::json& results) {
  for (const auto& t : results["scenarios"][0]["thresholds"])
    if (t["aggregate"] == "worst") {
      EXPECT_TRUE(t["passed"].get<bool>()) << t.dump();
    }
}

void expect_nothing_lost(const nlohmann::json& m) {
  EXPECT_EQ(m["lost_unaccounted"], 0);
  EXPECT_EQ(m["duplicated"], 0);
  EXPECT_EQ(m["reordered"], 0);
  EXPECT_EQ(m["corrupted"], 0);
}

TEST(Cli, ResultsFileFollowsTheSchema) {
  const auto r = run_scaled("1m-short", "");
  EXPECT_EQ(r["schema"], "aiway-stress/results/v1");
  for (const char* key : {"tool", "machine", "started_at", "interrupted", "passed", "scenarios"}) EXPECT_TRUE(r.contains(key)) << key;
  for (const char* key : {"version", "git", "compiler", "build_type", "allocator"}) EXPECT_TRUE(r["tool"].contains(key)) << key;
  for (const char* key : {"fingerprint", "cpu_model", "logical_cpus", "memory_bytes", "kernel"}) EXPECT_TRUE(r["machine"].contains(key)) << key;
  const auto& s = r["scenarios"][0];
  EXPECT_EQ(s["name"], "1m-short");
  EXPECT_EQ(s["config"]["backend"]["messages"], under_sanitizer() ? 5000 : 20000);  // the override is in the resolved config
  EXPECT_EQ(s["config"]["channel"]["overflow"], "block");
  EXPECT_EQ(s["repetitions"].size(), 2u);
  EXPECT_TRUE(s["summary"]["throughput_tps"].contains("median"));
  EXPECT_TRUE(s["summary"]["throughput_tps"].contains("cv"));
  EXPECT_FALSE(s["thresholds"].empty());
  EXPECT_EQ(r["passed"].get<bool>(), s["passed"].get<bool>());
  expect_integrity_passed(r);
}

TEST(Cli, ShortAndMediumDeliverEveryByte) {
  const auto tokens = under_sanitizer() ? 5'000 : 20'000;
  for (const auto& [name, bytes] : {std::pair<std::string, double>{"1m-medium", 100.0 * tokens}}) {
    const auto r = run_scaled(name, "");
    const auto& m = rep_metrics(r, 0);
    EXPECT_EQ(m["tokens_sent"], tokens);
    EXPECT_EQ(m["tokens_delivered"], tokens);
    EXPECT_EQ(m["bytes_delivered"], bytes);  // exactly size x tokens
    EXPECT_EQ(m["commands_planted"], 10);
    EXPECT_EQ(m["commands_executed"], 10);
    expect_nothing_lost(m);
  }
}

TEST(Cli, EveryMetricIsPresentAndSane) {
  const auto r = run_scaled("1m-short", "");
  const auto& m = rep_metrics(r, 1);
  for (const char* key : {"tokens_sent", "tokens_delivered", "bytes_delivered", "dropped_by_policy", "lost_unaccounted",
                          "duplicated", "reordered", "corrupted", "stream_errors", "streams_completed", "commands_planted",
                          "commands_executed", "wall_s", "throughput_tps", "throughput_bytes_per_s", "latency_p50_us",
                          "latency_p90_us", "latency_p99_us", "latency_p999_us", "latency_max_us",
                          "latency_uncorrected_p99_us", "hop1_p99_us", "hop2_p99_us", "ttft_us", "itl_p99_us",
                          "rss_before_bytes", "rss_peak_bytes", "rss_end_bytes", "rss_growth_bytes", "cpu_seconds",
                          "cpu_share", "cpu_backend_s", "cpu_conductor_s", "cpu_surface_s", "ctx_switches_voluntary",
                          "ctx_switches_involuntary", "channel_max_depth", "surface_channel_max_depth",
                          "producer_blocked_s", "frames_rendered"})
    EXPECT_TRUE(m.contains(key)) << key;
  EXPECT_FALSE(m.contains("quit_latency_us"));  // no quit in this scenario
  EXPECT_FALSE(m.contains("producer_lag_max_us"));  // not paced
  EXPECT_GT(m["wall_s"].get<double>(), 0);
  EXPECT_NEAR(m["throughput_tps"].get<double>(), m["tokens_delivered"].get<double>() / m["wall_s"].get<double>(), 1e-6 * m["throughput_tps"].get<double>());
  EXPECT_LE(m["latency_p50_us"].get<double>(), m["latency_p99_us"].get<double>());
  EXPECT_LE(m["latency_p99_us"].get<double>(), m["latency_max_us"].get<double>());
  EXPECT_GE(m["rss_peak_bytes"].get<double>(), m["rss_before_bytes"].get<double>());
  EXPECT_EQ(m["rss_growth_bytes"].get<double>(), m["rss_peak_bytes"].get<double>() - m["rss_baseline_bytes"].get<double>());
  EXPECT_LE(m["rss_baseline_bytes"].get<double>(), m["rss_before_bytes"].get<double>() + 4096);
  EXPECT_GT(m["cpu_share"].get<double>(), 0);
  EXPECT_LE(m["cpu_share"].get<double>(), 1.0);
  EXPECT_LE(m["channel_max_depth"].get<double>(), 10'000);
}

TEST(Cli, LongTokensArriveIntact) {
  const auto r = run_scaled("1k-long", "--set backend.messages=300");
  const auto& m = rep_metrics(r, 0);
  EXPECT_EQ(m["tokens_delivered"], 300);
  expect_nothing_lost(m);
}

TEST(Cli, RapidTokensQuitsMidStreamAndAccountsForTheRest) {
  const auto r = run_scaled("rapid-tokens", "");
  const auto& m = rep_metrics(r, 0);
  EXPECT_TRUE(m.contains("quit_latency_us"));
  EXPECT_LT(m["quit_latency_us"].get<double>(), 1e6);
  EXPECT_EQ(m["loss_ratio"], 0) << "tokens discarded after the quit are not loss";
  EXPECT_TRUE(m.contains("producer_lag_max_us"));
  EXPECT_LT(m["tokens_delivered"].get<double>(), m["tokens_sent"].get<double>() + 1);
  expect_nothing_lost(m);
}

TEST(Cli, BackpressureBlockLosesNothingDropNewestCountsEveryDrop) {
  const auto blocked = run_scaled("backpressure", "--set backend.messages=3000");
  expect_nothing_lost(rep_metrics(blocked, 0));
  EXPECT_EQ(rep_metrics(blocked, 0)["tokens_delivered"], 3000);

  // ai-way's try_send: the 100-slot channel overflows; every drop is counted, none unaccounted.
  const auto lossy = run_scaled("backpressure", "--set backend.messages=3000 --set surface_channel.overflow=drop-newest", 1);
  const auto& m = rep_metrics(lossy, 0);
  EXPECT_GT(m["dropped_by_policy"].get<double>(), 0);
  EXPECT_EQ(m["tokens_delivered"].get<double>() + m["dropped_by_policy"].get<double>(), 3000);
  EXPECT_EQ(m["lost_unaccounted"], 0);
  EXPECT_FALSE(lossy["passed"].get<bool>());  // its loss_ratio threshold fails
}

TEST(Cli, StallScenarioShowsCoordinatedOmission) {
  // Under sanitizers the pipeline cannot keep 100,000 tokens/s: same shape at a fifth of the rate.
  const std::string scaled = under_sanitizer()
      ? "--set backend.messages=40000 --set backend.rate_tps=20000 --set faults.surface_stall_at=20000"
      : "";
  const fs::path out = scratch() / "stall.json";
  const Outcome o = cli(fmt::format("run --scenario stall -r 1 --warmup 0 {} --out {}", scaled, out.string()));
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  const auto& m = rep_metrics(results, 0);
  const double corrected = m["latency_p99_us"], uncorrected = m["latency_uncorrected_p99_us"];
  EXPECT_GE(corrected, 10'000) << "the 50 ms stall must show in the corrected p99";
  // Every token's corrected latency is at least its uncorrected one, so the p99s are ordered.
  EXPECT_GE(corrected, uncorrected);
  // A sanitizer, or other work on the machine, slows the pipeline enough to
  // queue tokens, which inflates the uncorrected figure: the ratio is a
  // property of an undisturbed release run (asserted exactly on a fake clock in
  // CoordinatedOmission.*), judged by the harness's own disturbance measure.
  const bool disturbed = m.contains("foreign_cpu_share") && m["foreign_cpu_share"].get<double>() > 0.10;
  if (!under_sanitizer() && !disturbed) {
    EXPECT_LE(uncorrected * 10, corrected) << "and hide in the uncorrected one";
  }
  EXPECT_GE(m["producer_lag_max_us"].get<double>(), 10'000);
  expect_nothing_lost(m);
}

TEST(Cli, RssPeakCoversWhatTheTranscriptRetains) {
  // Keep every byte of 3,000 tokens of ~10 KB in the transcript: ~30 MB the peak must cover.
  const fs::path out = scratch() / "retain.json";
  const Outcome o = cli(fmt::format("run --scenario 1k-long -r 1 --warmup 0 --set backend.messages=3000 "
                                    "--set conductor.transcript_max_bytes=1000000000 --out {}", out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  const auto& m = rep_metrics(results, 0);
  EXPECT_EQ(m["transcript_bytes"], m["bytes_delivered"]);
  EXPECT_GE(m["rss_growth_bytes"].get<double>(), m["transcript_bytes"].get<double>());
  EXPECT_GE(m["rss_peak_bytes"].get<double>(), m["rss_baseline_bytes"].get<double>() + m["transcript_bytes"].get<double>());
}

TEST(Cli, CanariesAreDetectedExactly) {
  const fs::path out = scratch() / "canaries.json";
  const Outcome o = cli(fmt::format("run --scenario canaries --out {}", out.string()));
  EXPECT_EQ(o.exit_code, 0) << o.out << o.err;  // detected == planted in every repetition
  const auto results = nlohmann::json::parse(slurp(out));
  const auto& m = rep_metrics(results, 0);
  // One in 997 / 1,009 / 1,013 / 1,019 of 100,000 tokens.
  EXPECT_EQ(m["planted_drops"], 100);
  EXPECT_EQ(m["planted_duplicates"], 99);
  EXPECT_EQ(m["planted_reorders"], 98);
  EXPECT_EQ(m["planted_corruptions"], 98);
  EXPECT_EQ(m["lost_unaccounted"], 100);
  EXPECT_EQ(m["duplicated"], 99);
  EXPECT_EQ(m["reordered"], 98);
  EXPECT_EQ(m["corrupted"], 98);
  EXPECT_EQ(m["tokens_delivered"], 100'000 - 100);
  EXPECT_EQ(m["dropped_by_policy"], 0);
  // Without the expectation the default integrity limits fail the run.
  EXPECT_EQ(cli("run --scenario canaries --set expect.detected_equals_planted=false -q").exit_code, 1);
}

TEST(Cli, CompareGatesOnlyRealRegressions) {
  const fs::path dir = scratch();
  // Sanitizers slow the pipeline several-fold: a smaller run and a bigger planted slowdown.
  // 5 repetitions a side, the defaults: the one-sided exact U test reaches
  // p = 1/252, below Holm's first level over 1m-short's two gating metrics.
  // The planted slowdown is 10x or more, more than load on the other core can
  // explain; the disturbance check is off all the same, so that the U test
  // alone is judged here (tests/unit covers the check and its bound).
  const std::string small = fmt::format("--set backend.messages={} --set measure.max_foreign_cpu=0 -r 5 --warmup 1 -q",
                                        under_sanitizer() ? 10'000 : 50'000);
  const std::string slowdown = fmt::format("--set surface.work_us={}", under_sanitizer() ? 100 : 1);
  ASSERT_LE(cli(fmt::format("run -s 1m-short {} --out {}", small, (dir / "a.json").string())).exit_code, 1);
  ASSERT_LE(cli(fmt::format("run -s 1m-short {} {} --out {}", small, slowdown, (dir / "slow.json").string())).exit_code, 1);
  // A planted slowdown (1 us of work per token) is a regression, every time.
  const Outcome slow = cli(fmt::format("compare {} {} --format markdown", (dir / "a.json").string(), (dir / "slow.json").string()));
  EXPECT_EQ(slow.exit_code, 1) << slow.out;
  EXPECT_NE(slow.out.find("| 1m-short | throughput_tps |"), std::string::npos) << slow.out;
  EXPECT_NE(slow.out.find("**regressed**"), std::string::npos);
  EXPECT_NE(slow.out.find("Regression: 1m-short throughput_tps"), std::string::npos) << slow.out;
  // Notes are Markdown quotes, their text escaped, the marker not.
  EXPECT_NE(slow.out.find("\n> Note: the base results took every repetition in one process"), std::string::npos) << slow.out;
  EXPECT_EQ(slow.out.find("&gt;"), std::string::npos) << slow.out;
  // A file compared with itself: nothing changed.
  const Outcome same = cli(fmt::format("compare {} {} --format json", (dir / "a.json").string(), (dir / "a.json").string()));
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_FALSE(nlohmann::json::parse(same.out)["regressed"].get<bool>());
  // run --baseline gates the same way.
  EXPECT_EQ(cli(fmt::format("run -s 1m-short {} {} --baseline {}", small, slowdown, (dir / "a.json").string())).exit_code, 1);
  // baseline update writes the compact form: smaller, and the same results when read back
  // (every metric, and the spectrum derived again from the histogram, exactly).
  ASSERT_EQ(cli(fmt::format("baseline update --from {} --out {}", (dir / "a.json").string(), (dir / "base.json").string())).exit_code, 0);
  EXPECT_LT(fs::file_size(dir / "base.json"), fs::file_size(dir / "a.json") / 2);
  {
    const nlohmann::json full = nlohmann::json::parse(slurp(dir / "a.json")).at("scenarios").at(0).at("repetitions");
    const nlohmann::json compact = nlohmann::json::parse(slurp(dir / "base.json")).at("scenarios").at(0).at("repetitions");
    ASSERT_EQ(full.size(), compact.size());
    int distributions = 0;
    for (std::size_t k = 0; k < full.size(); ++k) {
      // Every metric, to ten significant digits.
      ASSERT_EQ(full.at(k).at("metrics").size(), compact.at(k).at("metrics").size());
      const auto& metrics = full.at(k).at("metrics");
      for (auto it = metrics.begin(); it != metrics.end(); ++it) {
        const double a = it.value().get<double>(), b = compact.at(k).at("metrics").at(it.key()).get<double>();
        EXPECT_NEAR(a, b, std::fabs(a) * 1e-9) << it.key();
      }
      EXPECT_TRUE(compact.at(k).at("latency_spectrum").at("rows").empty()) << "no spectrum rows: a histogram stands for them";
      if (compact[k].contains("latency_histogram")) {
        ++distributions;
        EXPECT_EQ(full.at(k).at("latency_histogram"), compact.at(k).at("latency_histogram"));
      }
    }
    EXPECT_EQ(distributions, 1) << "one repetition (the median p99's) keeps the latency distribution";
    EXPECT_FALSE(nlohmann::json::parse(slurp(dir / "base.json"))["scenarios"][0].contains("summary")) << "derived: recomputed";
    const Outcome itself = cli(fmt::format("compare {} {} --format json", (dir / "a.json").string(), (dir / "base.json").string()));
    EXPECT_EQ(itself.exit_code, 0) << itself.out;
    EXPECT_EQ(nlohmann::json::parse(itself.out)["counts"]["regressed"], 0) << itself.out;
  }
  // Several runs pool into one baseline: 5 + 5 repetitions, and the slowdown still regresses against it.
  ASSERT_LE(cli(fmt::format("run -s 1m-short {} --out {}", small, (dir / "b.json").string())).exit_code, 1);
  ASSERT_EQ(cli(fmt::format("baseline update --from {} --from {} --out {}", (dir / "a.json").string(),
                            (dir / "b.json").string(), (dir / "pooled.json").string())).exit_code, 0);
  const auto pooled = nlohmann::json::parse(slurp(dir / "pooled.json"));
  EXPECT_EQ(pooled["scenarios"][0]["repetitions"].size(), 10u);
  EXPECT_FALSE(pooled["scenarios"][0].contains("summary")) << "compact: a reader recomputes it from the 10";
  EXPECT_EQ(pooled["scenarios"][0]["config"], nlohmann::json::parse(slurp(dir / "a.json"))["scenarios"][0]["config"]);
  EXPECT_EQ(cli(fmt::format("compare {} {}", (dir / "pooled.json").string(), (dir / "slow.json").string())).exit_code, 1);
}

// Exit 4 means one thing: a gating verdict is inconclusive and the caller asked
// to fail on that. Three overlapping repetitions a side, -25 % in the median:
// beyond the threshold, too few and too noisy for any rule to decide.
TEST(Cli, InconclusiveUnderFailOnInconclusiveExitsFour) {
  const fs::path dir = scratch();
  auto results = [&](const char* name, std::vector<double> tps) {
    std::string reps;
    for (double v : tps) reps += fmt::format("{}{{\"metrics\": {{\"throughput_tps\": {}}}}}", reps.empty() ? "" : ", ", v);
    std::ofstream(dir / name)
        << R"({"schema": "aiway-stress/results/v1", "tool": {"name": "aiway-stress", "version": "0.1.0", "git": "abc",)"
        << R"("compiler": "g++", "build_type": "Release", "allocator": "mimalloc"}, "method": {"processes": 3,)"
        << R"("interleave": false}, "machine": {"fingerprint": "f", "cpu_model": "x", "logical_cpus": 2},)"
        << R"("started_at": "t", "interrupted": false, "passed": true, "scenarios": [{"name": "a", "passed": true,)"
        << R"("repetitions": [)" << reps << "]}]}";
  };
  results("base.json", {100, 80, 120});
  results("new.json", {75, 95, 60});
  const std::string files = fmt::format("{} {}", (dir / "base.json").string(), (dir / "new.json").string());
  const Outcome plain = cli("compare " + files);
  EXPECT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  EXPECT_NE(plain.out.find("gating: 0 regressed, 0 improved, 1 inconclusive"), std::string::npos) << plain.out;
  const Outcome asked = cli("compare " + files + " --fail-on-inconclusive");
  EXPECT_EQ(asked.exit_code, 4) << asked.out << asked.err;
}

TEST(Cli, CompareRefusesDifferentWorkloadsAndBadThresholdsBeforeRunning) {
  const fs::path dir = scratch();
  const std::string few = "-s 1m-short -r 2 --warmup 0 -q";
  ASSERT_LE(cli(fmt::format("run {} --set backend.messages=20000 --out {}", few, (dir / "small.json").string())).exit_code, 1);
  ASSERT_LE(cli(fmt::format("run {} --set backend.messages=30000 --out {}", few, (dir / "big.json").string())).exit_code, 1);
  const Outcome refused = cli(fmt::format("compare {} {}", (dir / "big.json").string(), (dir / "small.json").string()));
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("backend.messages: 30000 vs 20000"), std::string::npos) << refused.err;
  const Outcome allowed = cli(fmt::format("compare {} {} --allow-different-workload", (dir / "big.json").string(),
                                          (dir / "small.json").string()));
  EXPECT_NE(allowed.exit_code, 2) << allowed.err;
  EXPECT_NE(allowed.out.find("DIFFERENT WORKLOADS"), std::string::npos) << allowed.out;
  // A threshold compare would reject is rejected by run too, before any work.
  const Outcome threshold = cli(fmt::format("run {} --threshold foo=0.1 --out {}", few, (dir / "never.json").string()));
  EXPECT_EQ(threshold.exit_code, 2) << threshold.err;
  EXPECT_NE(threshold.err.find("foo is not a compared metric"), std::string::npos) << threshold.err;
  EXPECT_FALSE(fs::exists(dir / "never.json"));
}

TEST(Cli, RunSavesABaseline) {
  const fs::path dir = scratch() / "save-baseline";
  fs::create_directories(dir);
  const std::string small = "-s 1m-short --set backend.messages=5000 -r 2 --warmup 0 -q";
  const fs::path file = dir / "mine.json";
  ASSERT_LE(cli(fmt::format("run {} --save-baseline {}", small, file.string())).exit_code, 1);
  EXPECT_EQ(cli(fmt::format("compare {} {}", file.string(), file.string())).exit_code, 0) << "a baseline compare reads";
  // A bare name is a file of ./baselines/, which must exist: checked before the run.
  const std::string in_dir = fmt::format("cd {} &&", dir.string());
  const Outcome missing = cli(fmt::format("run {} --save-baseline nightly", small), in_dir);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("baselines/nightly.json"), std::string::npos) << missing.err;
  fs::create_directories(dir / "baselines");
  ASSERT_LE(cli(fmt::format("run {} --save-baseline nightly", small), in_dir).exit_code, 1);
  EXPECT_TRUE(fs::exists(dir / "baselines" / "nightly.json"));
  // An interrupted run is no baseline.
  fs::remove(file);
  const Outcome interrupted = cli(fmt::format("run -s rapid-tokens -r 1 --warmup 0 --save-baseline {}", file.string()),
                                  "timeout --foreground --preserve-status -s INT 1");
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted.err;
  EXPECT_FALSE(fs::exists(file));
  EXPECT_NE(interrupted.err.find("no baseline written"), std::string::npos) << interrupted.err;
}

TEST(Cli, CiFormatsAreWellFormed) {
  const fs::path dir = scratch();
  const Outcome o = cli(fmt::format("run -s 1m-short -s canaries --set backend.messages=20000 -r 3 --warmup 0 -q "
                                    "--set expect.min_throughput_tps=1e12 --out-junit {} --out-markdown {} --out-gbench {}",
                                    (dir / "j.xml").string(), (dir / "m.md").string(), (dir / "g.json").string()));
  EXPECT_EQ(o.exit_code, 1) << o.err;  // the impossible throughput limit fails
  // JUnit: checked with python's XML parser when there is one.
  const std::string junit = slurp(dir / "j.xml");
  EXPECT_NE(junit.find("<testsuite name=\"1m-short\""), std::string::npos);
  EXPECT_NE(junit.find("<failure message=\"median throughput_tps was"), std::string::npos) << junit;
  if (std::system("command -v python3 >/dev/null") == 0) {
    const std::string check = fmt::format(
        "python3 -c \"import xml.dom.minidom as m, sys; d = m.parse('{}'); "
        "sys.exit(0 if len(d.getElementsByTagName('testcase')) == {} else 1)\"", (dir / "j.xml").string(),
        2 /* runs */ + 8 /* 1m-short thresholds */ + 5 /* canaries thresholds */);
    EXPECT_EQ(std::system(check.c_str()), 0) << junit;
  }
  const std::string markdown = slurp(dir / "m.md");
  EXPECT_NE(markdown.find("| scenario | result |"), std::string::npos);
  EXPECT_NE(markdown.find("| 1m-short | **FAIL** | 3 |"), std::string::npos) << markdown;
  const auto gbench = nlohmann::json::parse(slurp(dir / "g.json"));
  EXPECT_EQ(gbench["context"]["json_schema_version"], 1);
  int iterations = 0, aggregates = 0;
  for (const auto& b : gbench["benchmarks"]) {
    iterations += b["run_type"] == "iteration";
    aggregates += b["run_type"] == "aggregate";
  }
  EXPECT_EQ(iterations, 3 + 3);
  EXPECT_EQ(aggregates, 4 + 4);  // mean, median, stddev, cv per scenario
  // Google Benchmark's own compare.py must read it unchanged.
  const char* compare_py = "/usr/share/benchmark/compare.py";
  if (!fs::exists(compare_py) || std::system("/usr/bin/python3 -c 'import scipy' 2>/dev/null") != 0) {
    GTEST_SKIP() << "compare.py or scipy not installed (Debian: libbenchmark-tools python3-scipy)";
  }
  const std::string cmd = fmt::format("/usr/bin/python3 {} benchmarks {} {} >/dev/null 2>&1", compare_py,
                                      (dir / "g.json").string(), (dir / "g.json").string());
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(Cli, CompareRefusesBadFilesWithExitTwo) {
  const fs::path dir = scratch();
  std::ofstream(dir / "truncated.json") << "{\"schema\": \"aiway-stress/results/v1\", \"tool\": {";
  std::ofstream(dir / "old.json") << "{\"schema\": \"aiway-stress/results/v0\"}";
  for (const char* bad : {"truncated.json", "old.json", "missing.json"}) {
    const Outcome o = cli(fmt::format("compare {} {}", (dir / bad).string(), (dir / bad).string()));
    EXPECT_EQ(o.exit_code, 2) << bad << o.err;
    EXPECT_NE(o.err.find(bad), std::string::npos) << o.err;
  }
}

TEST(Cli, ListShowAndValidate) {
  const Outcome list = cli("list");
  EXPECT_EQ(list.exit_code, 0);
  for (const char* name : {"1m-short", "1m-medium", "1k-long", "rapid-tokens", "backpressure"})
    EXPECT_NE(list.out.find(name), std::string::npos) << name;
  const Outcome show = cli("show 1m-short --set surface.work_us=2");
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("work_us = 2"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("scrollback_lines = 1000"), std::string::npos) << "defaults are filled in";
  EXPECT_EQ(cli("validate 1m-short").exit_code, 0);
}

TEST(Cli, InputErrorsExitTwoWithOneClearLine) {
  const fs::path bad = scratch() / "bad.toml";
  std::ofstream(bad) << "[backend]\nmessages = -1\n";
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"run --scenario no-such-scenario", "unknown scenario \"no-such-scenario\""},
           {"run --scenario 1m-short --set backend.messages=abc", "--set backend.messages=abc: backend.messages: expected an integer"},
           {"run --scenario 1m-short --repetitions 0", "repetitions"},
           {"run", "name a scenario"},
           {"run --scenario " + bad.string(), "bad.toml:2:1: backend.messages"},
           {"validate " + bad.string(), "bad.toml:2:1"},
           {"run --scenario 1m-short --out /nonexistent-dir/r.json", "/nonexistent-dir/r.json: cannot write"},
           {"frobnicate", ""},
           {"run --scenario 1m-shrot", "unknown scenario \"1m-shrot\"; did you mean \"1m-short\"?"},
           {"run --scenario 1m-short --set backend.mesages=10", "unknown key \"backend.mesages\"; did you mean \"backend.messages\"?"},
           {"compre a.json b.json", "unknown command \"compre\"; did you mean \"compare\"?"}}) {
    const Outcome o = cli(args);
    EXPECT_EQ(o.exit_code, 2) << args << "\n" << o.err;
    EXPECT_NE(o.err.find(needle), std::string::npos) << args << "\n" << o.err;
    EXPECT_TRUE(o.out.empty()) << args;
  }
}

TEST(Cli, FailedThresholdExitsOne) {
  run_scaled("1m-short", "--set expect.min_throughput_tps=1e11", 1);
}

TEST(Cli, QuitUnderFullLoadIsMeasuredEveryRepetition) {
  const fs::path out = scratch() / "quit.json";
  const Outcome o = cli(fmt::format("run --scenario 1m-short -r 10 --warmup 0 --set backend.messages=50000 "
                                    "--set control.quit_at=0.5 --out {}", out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  for (const auto& rep : results["scenarios"][0]["repetitions"]) {
    const auto& m = rep["metrics"];
    EXPECT_TRUE(m.contains("quit_latency_us")) << "every repetition that quits measures it";
    EXPECT_GT(m["discarded_at_shutdown"].get<double>() + m["tokens_delivered"].get<double>(), 0);
    expect_nothing_lost(m);
  }
}

TEST(Cli, HungSurfaceIsReportedByTheWatchdog) {
  const auto t0 = std::chrono::steady_clock::now();
  const Outcome o = cli("run --scenario 1m-short -r 1 --warmup 0 --set faults.surface_stop_at=1000 --set stall_timeout_s=1");
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("no progress for 1 s: surface stopped making progress"), std::string::npos) << o.err;
  EXPECT_LT(elapsed, 1.0 + 1.0 + 1.0) << "stall timeout + 1 s, plus start-up";
}

TEST(Cli, TimeoutExitsThreeNamingTheStage) {
  const Outcome o = cli("run --scenario backpressure -r 1 --warmup 0 --set timeout_s=0.3 --set surface.work_us=100000");
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("timeout after 0.3 s: surface stopped making progress"), std::string::npos) << o.err;
}

TEST(Cli, RepetitionsSpreadOverProcessesOrInterleaved) {
  const fs::path dir = scratch();
  const std::string common = "run -s 1m-short -s canaries --set backend.messages=20000 -r 3 --warmup 0 -q";
  for (const std::string method : {"--processes 2", "--interleave"}) {
    const fs::path out = dir / "method.json";
    const Outcome o = cli(fmt::format("{} {} --out {}", common, method, out.string()));
    ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << method << o.err;
    const auto results = nlohmann::json::parse(slurp(out));
    EXPECT_EQ(results["method"]["processes"], method == "--processes 2" ? 2 : 1) << method;
    EXPECT_EQ(results["method"]["interleave"], method == "--interleave") << method;
    ASSERT_EQ(results["scenarios"].size(), 2u);
    for (const auto& s : results["scenarios"]) {
      ASSERT_EQ(s["repetitions"].size(), 3u) << method << " " << s["name"];
      EXPECT_EQ(s["summary"]["tokens_delivered"]["n"], 3);
      for (const auto& rep : s["repetitions"]) EXPECT_FALSE(rep["latency_spectrum"]["rows"].empty());
    }
    expect_nothing_lost(results["scenarios"][0]["repetitions"][2]["metrics"]);
    EXPECT_EQ(results["scenarios"][1]["repetitions"][2]["metrics"]["duplicated"], 20000 / 1009) << "canaries still planted";
  }
}

TEST(Cli, RawHopIsMeasuredBeforeEachUnpacedRepetition) {
  // In worker processes too: the field travels with the scenario.
  const fs::path out = scratch() / "raw-hop.json";
  const Outcome o = cli(fmt::format("run -s 1m-short -s rapid-tokens --set backend.messages=20000 --set measure.raw_hop=true "
                                    "-r 2 --warmup 0 --processes 2 --out {}",
                                    out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  for (const auto& rep : results["scenarios"][0]["repetitions"]) {
    const auto& m = rep["metrics"];
    ASSERT_TRUE(m.contains("raw_hop_tps")) << m.dump();
    EXPECT_GT(m["raw_hop_tps"].get<double>(), 0);
    EXPECT_NEAR(m["raw_hop_ratio"].get<double>(),
                m["throughput_tps"].get<double>() / m["raw_hop_tps"].get<double>(), 1e-9 * m["raw_hop_ratio"].get<double>());
  }
  for (const auto& rep : results["scenarios"][1]["repetitions"])
    EXPECT_FALSE(rep["metrics"].contains("raw_hop_tps")) << "a paced scenario's throughput is its pace: no ratio";
  EXPECT_NE(o.out.find("raw hop: throughput / one raw moodycamel hop of the same tokens measured right before each "
                       "repetition"),
            std::string::npos)
      << o.out;
}

TEST(Cli, InterruptWritesPartialResultsAndExits130) {
  for (const std::string method : {"", "--processes 2"}) {
    const fs::path out = scratch() / "interrupted.json";
    fs::remove(out);
    // rapid-tokens takes about 10 s a repetition: SIGINT arrives in the middle of the first.
    const Outcome o = cli(fmt::format("run -s rapid-tokens -r 2 --warmup 0 {} --out {}", method, out.string()),
                          "timeout --foreground --preserve-status -s INT 1.5");
    EXPECT_EQ(o.exit_code, 130) << method << o.err;
    const auto results = nlohmann::json::parse(slurp(out));  // complete, valid JSON
    EXPECT_TRUE(results["interrupted"].get<bool>()) << method;
    EXPECT_FALSE(results["passed"].get<bool>()) << method;
  }
}

// Busy loops in other processes, one per CPU, for as long as it lives.
class OtherWork {
 public:
  OtherWork() {
    for (long i = 0; i < sysconf(_SC_NPROCESSORS_ONLN); ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "while :; do :; done", static_cast<char*>(nullptr));
        _exit(127);
      }
      if (pid > 0) pids_.push_back(pid);
    }
  }
  ~OtherWork() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  OtherWork(const OtherWork&) = delete;
  OtherWork& operator=(const OtherWork&) = delete;

 private:
  std::vector<pid_t> pids_;
};

TEST(Cli, OtherWorkOnTheMachineIsDetectedRetriedAndReported) {
  const fs::path out = scratch() / "busy.json";
  Outcome o;
  {
    const OtherWork busy;
    // Paced, so each repetition lasts 0.2 s whatever the build, and the busy loops take most of the machine.
    o = cli(fmt::format("run -s 1m-short -r 2 --warmup 0 --processes 2 --set backend.messages=20000 "
                        "--set backend.rate_tps=100000 --set measure.rerun_disturbed=1 --out {}", out.string()));
  }
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  const auto& s = results["scenarios"][0];
  ASSERT_EQ(s["repetitions"].size(), 2u);
  for (const auto& rep : s["repetitions"]) EXPECT_GT(rep["metrics"]["foreign_cpu_share"].get<double>(), 0.10);
  // One re-run per worker process, and each of those was over the limit too.
  ASSERT_EQ(s["disturbed_reruns"].size(), 2u);
  for (const auto& share : s["disturbed_reruns"]) EXPECT_GT(share.get<double>(), 0.10);
  ASSERT_TRUE(s["disturbed"].is_string());
  EXPECT_NE(s["disturbed"].get<std::string>().find("2 of 2 repetitions ran while other work used up to"), std::string::npos);
  EXPECT_NE(o.out.find("a comparison will call its changes inconclusive"), std::string::npos) << o.out;

  // A comparison says why these figures cannot be judged (the verdict rule itself is unit-tested).
  const Outcome same = cli(fmt::format("compare {} {}", out.string(), out.string()));
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("a busier machine cannot be told from a slower build"), std::string::npos) << same.out;
}

TEST(Cli, ConcurrentConversationsReportFairness) {
  const fs::path out = scratch() / "conv.json";
  const Outcome o = cli(fmt::format("run -s 64-conversations -r 2 --warmup 0 --set backend.messages={} --out {}",
                                    under_sanitizer() ? 100 : 400, out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  expect_integrity_passed(results);
  const auto& m = rep_metrics(results, 0);
  expect_nothing_lost(m);
  EXPECT_EQ(m["streams"], 64);
  EXPECT_EQ(m["streams_completed"], 64);
  EXPECT_LT(m["worst_stream"].get<double>(), 64);
  EXPECT_LE(m["stream_tps_min"].get<double>(), m["stream_tps_median"].get<double>());
  EXPECT_LE(m["stream_tps_median"].get<double>(), m["stream_tps_max"].get<double>());
  EXPECT_LE(m["stream_p99_median_us"].get<double>(), m["stream_p99_max_us"].get<double>());
  EXPECT_GT(m["fairness_jain"].get<double>(), 1.0 / 64);
  EXPECT_LE(m["fairness_jain"].get<double>(), 1.0 + 1e-9);
}

TEST(Cli, JitteryNetworkDelaysEveryTokenByTheHop) {
  const fs::path out = scratch() / "jitter.json";
  const Outcome o = cli(fmt::format("run -s jittery-network -r 2 --warmup 0 --set backend.messages=5000 --out {}", out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  for (int rep = 0; rep < 2; ++rep) {
    const auto& m = rep_metrics(results, rep);
    expect_nothing_lost(m);
    EXPECT_EQ(m["tokens_delivered"], 5000);
    // 2 ms +- 1 ms: no token crosses hop1 in under 1 ms.
    EXPECT_GE(m["latency_p50_us"].get<double>(), 1000);
    EXPECT_GE(m["hop1_p99_us"].get<double>(), 1000);
  }
}

TEST(Cli, AiwayLegacyCountsEveryDropAndQueuesTheQuitBehindData) {
  const fs::path out = scratch() / "legacy.json";
  // The scenario as shipped: a burst into the 100-slot lossy channel drops in every repetition.
  const Outcome o = cli(fmt::format("run -s aiway-legacy -r 3 --warmup 0 --out {}", out.string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  const auto results = nlohmann::json::parse(slurp(out));
  for (int rep = 0; rep < 3; ++rep) {
    const auto& m = rep_metrics(results, rep);
    EXPECT_GT(m["dropped_by_policy"].get<double>(), 0);
    EXPECT_EQ(m["lost_unaccounted"], 0) << "every drop is counted";
    EXPECT_EQ(m["tokens_sent"].get<double>(),
              m["tokens_delivered"].get<double>() + m["dropped_by_policy"].get<double>() + m["discarded_at_shutdown"].get<double>());
    // ShuttingDown travelled in band: either the surface saw it behind the data, or the full channel dropped it.
    ASSERT_TRUE(m.contains("shutdown_lost"));
    EXPECT_TRUE(m.contains("quit_latency_us") != (m["shutdown_lost"] == 1)) << m.dump();
  }
}

TEST(Cli, SweepRunsEveryCombinationIntoEveryFormat) {
  const fs::path dir = scratch();
  const Outcome o = cli(fmt::format("run -s 1m-short --set backend.messages=5000 -r 1 --warmup 0 "
                                    "--sweep pipeline.batch=16,256 --sweep surface.work_us=0,1 --out {} --out-markdown {} "
                                    "--out-junit {} --out-gbench {}", (dir / "s.json").string(), (dir / "s.md").string(),
                                    (dir / "s.xml").string(), (dir / "s.gb.json").string()));
  ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.err;
  EXPECT_NE(o.out.find("=== Sweep ==="), std::string::npos) << o.out;
  const auto results = nlohmann::json::parse(slurp(dir / "s.json"));
  ASSERT_EQ(results["scenarios"].size(), 4u);
  const std::vector<std::pair<std::string, std::string>> expected = {{"16", "0"}, {"16", "1"}, {"256", "0"}, {"256", "1"}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& s = results["scenarios"][i];
    EXPECT_EQ(s["sweep"]["pipeline.batch"], expected[i].first);
    EXPECT_EQ(s["sweep"]["surface.work_us"], expected[i].second);
    EXPECT_EQ(s["name"], fmt::format("1m-short[pipeline.batch={},surface.work_us={}]", expected[i].first, expected[i].second));
    EXPECT_EQ(s["config"]["pipeline"]["batch"], std::stoi(expected[i].first)) << "the value was applied";
  }
  const std::string markdown = slurp(dir / "s.md");
  EXPECT_NE(markdown.find("| scenario | pipeline.batch | surface.work_us | tokens/s |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| 1m-short | 256 | 1 |"), std::string::npos) << markdown;
  EXPECT_NE(slurp(dir / "s.xml").find("1m-short[pipeline.batch=16,surface.work_us=1]"), std::string::npos);
  EXPECT_NE(slurp(dir / "s.gb.json").find("1m-short[pipeline.batch=256,surface.work_us=0]"), std::string::npos);
  // A field that does not exist is an input error, named as the sweep.
  const Outcome bad = cli("run -s 1m-short --sweep pipeline.nope=1,2");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--sweep pipeline.nope=1: unknown key"), std::string::npos) << bad.err;
}

// Every chart of an HTML report: (data-chart, data-marks) in page order.
std::vector<std::pair<std::string, int>> charts_in(const std::string& html) {
  std::vector<std::pair<std::string, int>> charts;
  for (std::size_t at = html.find("<svg class=\"chart\""); at != std::string::npos; at = html.find("<svg class=\"chart\"", at + 1)) {
    const std::size_t id = html.find("data-chart=\"", at) + 12;
    const std::size_t marks = html.find("data-marks=\"", at) + 12;
    charts.emplace_back(html.substr(id, html.find('"', id) - id), std::stoi(html.substr(marks, html.find('"', marks) - marks)));
  }
  return charts;
}

TEST(Cli, HtmlReportDrawsEveryChartAndRendersInChromium) {
  const fs::path dir = scratch();
  const std::string small = "--set backend.messages=3000 -r 3 --warmup 0 -q";
  ASSERT_LE(cli(fmt::format("run -s 1m-short -s jittery-network {} --out {}", small, (dir / "base.json").string())).exit_code, 1);
  ASSERT_LE(cli(fmt::format("run -s 1m-short -s jittery-network {} --sweep pipeline.batch=16,256 --out {}", small,
                            (dir / "new.json").string())).exit_code, 1);
  ASSERT_LE(cli(fmt::format("run -s 1m-short -s jittery-network {} --out {}", small, (dir / "plain.json").string())).exit_code, 1);
  const Outcome o = cli(fmt::format("report {} --baseline {} --html {}", (dir / "plain.json").string(),
                                    (dir / "base.json").string(), (dir / "r.html").string()));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string html = slurp(dir / "r.html");
  EXPECT_EQ(html.find("<script"), std::string::npos) << "self-contained, no scripts";
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "no external resources";
  EXPECT_NE(html.find("Comparison with the baseline"), std::string::npos);
  const auto charts = charts_in(html);
  ASSERT_EQ(charts.size(), 2u * 4u) << "spectrum, throughput, RSS and CPU per scenario";
  for (const auto& [chart, marks] : charts) EXPECT_GT(marks, 0) << chart << " is empty";
  // Axis ticks: no exponents, no label twice on one chart, whole repetitions.
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const std::string svg = html.substr(at, html.find("</svg>", at) - at);
    std::vector<std::string> ticks;
    for (std::size_t t = svg.find("class=\"tick\""); t != std::string::npos; t = svg.find("class=\"tick\"", t + 1)) {
      const auto open = svg.find('>', t) + 1;
      ticks.push_back(svg.substr(open, svg.find('<', open) - open));
    }
    const bool throughput = svg.find("data-chart=\"throughput\"") != std::string::npos;
    std::set<std::string> seen;
    for (const auto& tick : ticks) {
      const auto e = tick.find_first_of("eE");  // an exponent: a digit, e, then a sign or a digit
      const bool exponent = e != std::string::npos && e > 0 && std::isdigit((unsigned char)tick[e - 1]) &&
                            e + 1 < tick.size() && (std::isdigit((unsigned char)tick[e + 1]) || tick[e + 1] == '+' || tick[e + 1] == '-');
      EXPECT_FALSE(exponent) << "an exponent in a tick: " << tick;
      if (svg.find("data-chart=\"cpu\"") == std::string::npos) {
        EXPECT_TRUE(seen.insert(tick).second) << "tick " << tick << " twice";
      }
    }
    if (throughput) {
      // The x ticks follow the y ticks; the repetitions are 1, 2, 3.
      EXPECT_NE(svg.find(">1</text>"), std::string::npos);
      EXPECT_EQ(svg.find(">1.5</text>"), std::string::npos) << "a repetition axis ticks at whole numbers";
    }
    if (svg.find("data-chart=\"rss\"") != std::string::npos) {
      EXPECT_NE(svg.find(">baseline "), std::string::npos) << "the RSS chart draws the baseline growth is measured from";
    }
  }
  EXPECT_NE(html.find("threshold &gt;= "), std::string::npos) << "1m-short's throughput threshold is drawn";
  EXPECT_NE(html.find("<table class=\"thresholds\">"), std::string::npos) << "each scenario's thresholds are tabled";
  // The sweep adds its curves.
  ASSERT_EQ(cli(fmt::format("report {} --html {}", (dir / "new.json").string(), (dir / "s.html").string())).exit_code, 0);
  const auto sweep_charts = charts_in(slurp(dir / "s.html"));
  int sweep_curves = 0;
  for (const auto& [chart, marks] : sweep_charts) {
    sweep_curves += chart.rfind("sweep-", 0) == 0;
    EXPECT_GT(marks, 0) << chart;
  }
  EXPECT_EQ(sweep_curves, 3);
  // Bad input: exit 2, one line naming the file.
  const Outcome bad = cli(fmt::format("report {} --html {}", (dir / "missing.json").string(), (dir / "x.html").string()));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("missing.json"), std::string::npos);

  // Rendered by a real browser: the DOM it built holds every chart, and the screenshot is not blank.
  if (std::system("command -v chromium >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "chromium is not installed (Debian package chromium; scripts/test.sh installs it): not rendered";
  const std::string chromium = fmt::format(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --user-data-dir={} --hide-scrollbars --window-size=1360,2000",
      (dir / "chromium-profile").string());
  ASSERT_EQ(std::system(fmt::format("{} --dump-dom file://{} >{} 2>/dev/null", chromium, (dir / "r.html").string(),
                                    (dir / "dom.html").string()).c_str()), 0);
  const auto rendered = charts_in(slurp(dir / "dom.html"));
  EXPECT_EQ(rendered, charts) << "the browser's DOM holds the same charts";
  ASSERT_EQ(std::system(fmt::format("{} --screenshot={} file://{} >/dev/null 2>&1", chromium, (dir / "r.png").string(),
                                    (dir / "r.html").string()).c_str()), 0);
  ASSERT_TRUE(fs::exists(dir / "r.png"));
  // The documentation's picture is this screenshot: AIWAY_UPDATE_DOCS=1 writes it there.
  if (const char* update = std::getenv("AIWAY_UPDATE_DOCS"); update && std::string(update) == "1")
    fs::copy_file(dir / "r.png", fs::path(AIWAY_SOURCE_DIR) / "docs" / "report.png", fs::copy_options::overwrite_existing);
  if (std::system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-pil is not installed: the screenshot was taken but not inspected";
  // Charts draw coloured lines and bars: a blank or unstyled page has (almost) none.
  const std::string check = fmt::format(
      "/usr/bin/python3 -c \"from PIL import Image; im = Image.open('{}').convert('RGB'); "
      "px = im.getdata(); blue = sum(1 for r, g, b in px if b > 150 and r < 100); "
      "import sys; sys.exit(0 if blue > 2000 else 1)\"", (dir / "r.png").string());
  EXPECT_EQ(std::system(check.c_str()), 0) << "the screenshot shows no chart colours";
}

TEST(Cli, AllCalibratesByDefault) {
  if (under_sanitizer()) GTEST_SKIP() << "calibration takes a minute under a sanitizer";
  // A scenarios folder of one small scenario, so that --all is quick.
  const fs::path dir = scratch() / "one-scenario";
  fs::create_directories(dir);
  std::ofstream(dir / "tiny.toml") << "name = \"tiny\"\nrepetitions = 1\nwarmup = 0\n[backend]\nmessages = 1000\n";
  auto calibrated = [&](const std::string& args) {
    const fs::path out = dir / "r.json";
    const std::string command = fmt::format("{} --scenarios-dir {} run {} -q --out {} >/dev/null 2>&1", AIWAY_CLI,
                                            dir.string(), args, out.string());
    EXPECT_EQ(std::system(command.c_str()), 0) << args;
    return !nlohmann::json::parse(slurp(out))["machine"]["calibration_score"].is_null();
  };
  EXPECT_TRUE(calibrated("--all"));
  EXPECT_FALSE(calibrated("--all --no-calibrate"));
  EXPECT_FALSE(calibrated("-s tiny"));
  EXPECT_TRUE(calibrated("-s tiny --calibrate"));
}

}  // namespace

namespace {

TEST(CliReliability, StopDuringShortRepetitionsWritesWhatCompleted) {
  const fs::path dir = scratch();
  const fs::path out = dir / "short.json";
  // Repetitions of ~1 ms (2,000 tokens): each shorter than a watchdog tick,
  // so only the check between repetitions can see the stop.
  const Outcome o = cli(fmt::format("run -s 1m-short --set backend.messages=2000 --set measure.max_foreign_cpu=0 "
                                    "-r 1000 --warmup 0 -q --no-calibrate --out {}",
                                    out.string()),
                        "timeout --preserve-status -s INT 1.5");
  EXPECT_EQ(o.exit_code, 130) << o.err;
  ASSERT_TRUE(fs::exists(out)) << o.err;
  const auto r = nlohmann::json::parse(slurp(out));
  EXPECT_TRUE(r["interrupted"].get<bool>());
  const auto done = r["scenarios"][0]["repetitions"].size();
  EXPECT_LT(done, 1000u);
  EXPECT_EQ(r["planned_repetitions"], 1000);
  EXPECT_EQ(r["interruption"], fmt::format("interrupted after {} of 1000 repetitions", done));
  EXPECT_NE(o.err.find(fmt::format("interrupted after {} of 1000 repetitions", done)), std::string::npos) << o.err;
}

TEST(CliReliability, AClosedStandardOutputNeverCostsTheResultsFile) {
  const fs::path dir = scratch();
  const fs::path out = dir / "piped.json";
  const std::string command =
      fmt::format("{} --scenarios-dir {} run -s 1m-short -s canaries --set backend.messages=2000 -r 1 --warmup 0 "
                  "--no-calibrate --format json --out {} 2>{} | head -c 1 >/dev/null",
                  AIWAY_CLI, AIWAY_SCENARIOS_DIR, out.string(), (dir / "err").string());
  ASSERT_EQ(std::system(("bash -o pipefail -c '" + command + "'").c_str()) == -1, false);
  ASSERT_TRUE(fs::exists(out)) << slurp(dir / "err");
  EXPECT_EQ(nlohmann::json::parse(slurp(out))["scenarios"].size(), 2u);
}

TEST(CliReliability, LegalLongNamesAndSymlinksToFilesAreWritten) {
  const fs::path dir = scratch() / "names";
  fs::create_directories(dir);
  const std::string longest(255, 'r');  // NAME_MAX: the temporary name must not push it over
  const std::string run = "run -s 1m-short --set backend.messages=2000 -r 1 --warmup 0 -q --no-calibrate";
  ASSERT_LE(cli(fmt::format("{} --out {}", run, (dir / longest).string())).exit_code, 1);
  EXPECT_TRUE(fs::exists(dir / longest));
  // A symlink to a regular file: the file it names is replaced, the link kept.
  std::ofstream(dir / "target.json") << "old";
  fs::create_symlink(dir / "target.json", dir / "link.json");
  ASSERT_LE(cli(fmt::format("{} --out {}", run, (dir / "link.json").string())).exit_code, 1);
  EXPECT_TRUE(fs::is_symlink(dir / "link.json"));
  EXPECT_NE(slurp(dir / "target.json"), "old");
  // Nothing but the outputs is left behind in the folder.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 3u);
}

TEST(CliReliability, ManyMetricNamesLoadInLinearTime) {
  const fs::path dir = scratch();
  std::string metrics = "\"throughput_tps\": 1";
  for (int i = 0; i < 100000; ++i) metrics += fmt::format(", \"m{}\": {}", i, i);
  std::ofstream(dir / "many.json")
      << R"({"schema": "aiway-stress/results/v1", "tool": {"name": "aiway-stress", "version": "0.1.0", "git": "abc",)"
      << R"("compiler": "g++", "build_type": "Release", "allocator": "mimalloc"}, "machine": {"fingerprint": "f",)"
      << R"("cpu_model": "x", "logical_cpus": 2}, "started_at": "t", "interrupted": false, "passed": true,)"
      << R"("scenarios": [{"name": "a", "passed": true, "repetitions": [{"metrics": {)" << metrics << "}}]}]}";
  // A quadratic loader took 32 s of CPU for this; linear takes a fraction of a
  // second. The test asserts the outcome; the time is in the README.
  const Outcome o = cli(fmt::format("compare {} {}", (dir / "many.json").string(), (dir / "many.json").string()));
  EXPECT_EQ(o.exit_code, 0) << o.err;
}

}  // namespace

namespace {

// Runs a bash script with AIWAY and SCENARIOS set; returns its exit status.
int bash(const std::string& script, const fs::path& dir) {
  std::ofstream(dir / "script.sh") << "set -u\nAIWAY=" << AIWAY_CLI << "\nSCENARIOS=" << AIWAY_SCENARIOS_DIR << "\n" << script;
  const int status = std::system(fmt::format("bash {} >{} 2>{}", (dir / "script.sh").string(), (dir / "script.out").string(),
                                             (dir / "script.err").string())
                                     .c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Paced repetitions of a known length (1 s each), so a worker is alive to be killed.
const char* kPacedRun = "run -s 1m-short --set backend.messages=20000 --set backend.rate_tps=20000 --set backend.commands=0 "
                        "--set measure.max_foreign_cpu=0 --warmup 0 -q --no-calibrate";

TEST(CliReliability, AKilledWorkerCostsOnlyItsOwnRepetitions) {
  const fs::path dir = scratch() / "killed-worker";
  fs::create_directories(dir);
  const int code = bash(fmt::format(R"sh(
"$AIWAY" --scenarios-dir "$SCENARIOS" {} -r 3 --processes 3 --out {}/r.json 2>{}/run.err &
parent=$!
for i in $(seq 1 200); do worker=$(pgrep -P $parent | head -n 1); [ -n "$worker" ] && break; sleep 0.02; done
sleep 0.3
kill -9 "$worker"
wait $parent
echo "exit $?"
)sh", kPacedRun, dir.string(), dir.string()), dir);
  ASSERT_EQ(code, 0) << slurp(dir / "script.err");
  EXPECT_NE(slurp(dir / "script.out").find("exit 3"), std::string::npos) << slurp(dir / "script.out") << slurp(dir / "run.err");
  const std::string err = slurp(dir / "run.err");
  EXPECT_NE(err.find("worker process 1 died of signal 9 (SIGKILL): its 1 repetition was lost"), std::string::npos) << err;
  ASSERT_TRUE(fs::exists(dir / "r.json")) << err;
  const auto r = nlohmann::json::parse(slurp(dir / "r.json"));
  EXPECT_EQ(r["scenarios"][0]["repetitions"].size(), 2u) << "the other two workers' repetitions are kept";
}

TEST(CliReliability, WorkersEndWithTheirParentAndStaleFoldersGo) {
  const fs::path dir = scratch() / "killed-parent";
  fs::create_directories(dir / "tmp");
  const int code = bash(fmt::format(R"sh(
export TMPDIR={0}/tmp
"$AIWAY" --scenarios-dir "$SCENARIOS" {1} -r 4 --processes 2 --set backend.messages=100000 2>/dev/null &
parent=$!
for i in $(seq 1 200); do worker=$(pgrep -P $parent | head -n 1); [ -n "$worker" ] && break; sleep 0.02; done
[ -n "$worker" ] || {{ echo "no worker"; exit 1; }}
kill -9 $parent
for i in $(seq 1 250); do kill -0 "$worker" 2>/dev/null || break; sleep 0.02; done
if kill -0 "$worker" 2>/dev/null; then echo "orphan still running"; kill -9 "$worker"; exit 1; fi
ls "$TMPDIR" | grep -c '^aiway-stress-' || true
"$AIWAY" --scenarios-dir "$SCENARIOS" {1} -r 1 --processes 1 --set backend.messages=2000 >/dev/null 2>&1
"$AIWAY" --scenarios-dir "$SCENARIOS" {1} -r 2 --processes 2 --set backend.messages=2000 >/dev/null 2>&1
echo "left: $(ls "$TMPDIR" | grep -c '^aiway-stress-')"
)sh", dir.string(), kPacedRun), dir);
  const std::string out = slurp(dir / "script.out");
  ASSERT_EQ(code, 0) << out << slurp(dir / "script.err");
  EXPECT_NE(out.find("left: 0"), std::string::npos) << out;
}

}  // namespace

namespace {

// The memory budget is judged against what this process can have: under
// ulimit -v that is far less than the machine's free memory.
TEST(CliReliability, TheMemoryBudgetHonoursUlimit) {
  if (under_sanitizer()) GTEST_SKIP() << "sanitizers reserve terabytes of address space: ulimit -v cannot apply";
  const std::string big = "run -s 1m-medium --set channel.capacity=8000000 --set backend.size=1000 --set backend.messages=1000 "
                          "-r 1 --warmup 0 -q --no-calibrate";
  const Outcome limited = cli(big, "ulimit -v 3000000;");
  EXPECT_EQ(limited.exit_code, 2) << limited.err;
  EXPECT_NE(limited.err.find("needs about 8.3 GiB"), std::string::npos) << limited.err;
  EXPECT_NE(limited.err.find("ulimit -v"), std::string::npos) << limited.err;
}

TEST(CliReliability, OutOfMemoryDuringARunFailsItAndKeepsTheResults) {
  if (under_sanitizer()) GTEST_SKIP() << "sanitizers reserve terabytes of address space: ulimit -v cannot apply";
  const fs::path dir = scratch();
  const fs::path out = dir / "oom.json";
  // 1.5 GB of address space, a transcript allowed to grow to 17 GB: the
  // conductor's allocation fails mid-run (the estimate is raised past it).
  const Outcome o = cli(fmt::format("run -s 1k-long --set backend.messages=200000 --set conductor.transcript_max_bytes=17000000000 "
                                    "--set measure.max_memory_mib=100000 -r 1 --warmup 0 -q --no-calibrate --out {}",
                                    out.string()),
                        "ulimit -v 1500000;");
  EXPECT_EQ(o.exit_code, 3) << o.err;
  EXPECT_NE(o.err.find("conductor: out of memory (std::bad_alloc)"), std::string::npos) << o.err;
  ASSERT_TRUE(fs::exists(out));
  EXPECT_NE(nlohmann::json::parse(slurp(out))["scenarios"][0]["failure"].get<std::string>().find("out of memory"),
            std::string::npos);
}

}  // namespace

namespace {

TEST(CliAb, RunsBothBuildsInAbbaOrderAndGatesTheChange) {
  const fs::path dir = scratch() / "ab";
  fs::create_directories(dir);
  // Two "builds": the same binary, the new one with planted work per token (a
  // 10x slowdown or more, which no load on the other core can mask: 1 us in a
  // release build, 100 us under a sanitizer, which costs microseconds a token
  // itself), each logging its turn so the order can be checked.
  const std::string slowdown = under_sanitizer() ? " --set surface.work_us=100" : " --set surface.work_us=1";
  for (const auto& [name, extra] : {std::pair<std::string, std::string>{"old", ""}, std::pair<std::string, std::string>{"new", slowdown}}) {
    const fs::path script = dir / name;
    std::ofstream(script) << "#!/bin/sh\necho " << name << " >> " << (dir / "order.log").string() << "\nexec " << AIWAY_CLI
                          << " \"$@\"" << extra << "\n";
    fs::permissions(script, fs::perms::owner_all);
  }
  const Outcome o = cli(fmt::format("ab {0}/old {0}/new -s 1m-short --set backend.messages={1} --set measure.max_foreign_cpu=0 "
                                    "-r 4 --warmup 0 --out-old {0}/old.json --out-new {0}/new.json",
                                    dir.string(), under_sanitizer() ? 5'000 : 30'000));
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("Regression: 1m-short throughput_tps"), std::string::npos) << o.out;
  std::string order;
  std::ifstream log(dir / "order.log");
  for (std::string line; std::getline(log, line);) order += line == "old" ? "A" : "B";
  EXPECT_EQ(order, "ABBAABBA");
  const auto old_side = nlohmann::json::parse(slurp(dir / "old.json"));
  EXPECT_EQ(old_side["scenarios"][0]["repetitions"].size(), 4u);
  EXPECT_EQ(old_side["method"]["processes"], 4);
  // Not a binary: a clear error before anything runs.
  const Outcome bad = cli(fmt::format("ab {0}/nope {0}/new -s 1m-short", dir.string()));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not an aiway-stress binary or a build folder"), std::string::npos) << bad.err;
}

TEST(CliHistory, AddCheckAndChangesOverAKnownSeries) {
  const fs::path dir = scratch() / "history";
  fs::create_directories(dir);
  const fs::path db = dir / "h.sqlite";
  // Runs of one machine with known medians: ten at 100 (+-1), then five at 90.
  auto write_run = [&](int day, double tps) {
    const fs::path file = dir / fmt::format("run{}.json", day);
    std::ofstream(file) << R"({"schema": "aiway-stress/results/v1", "tool": {"name": "aiway-stress", "version": "0.1.0",)"
                        << fmt::format(R"("git": "rev{}", )", day)
                        << R"("compiler": "g++", "build_type": "Release", "allocator": "mimalloc"}, "machine": {"fingerprint": "f",)"
                        << R"("cpu_model": "x", "logical_cpus": 2},)"
                        << fmt::format(R"("started_at": "2026-11-{:02}T03:17:00Z", )", day)
                        << R"("interrupted": false, "passed": true, "scenarios": [{"name": "a", "passed": true, "repetitions": [)"
                        << fmt::format(R"({{"metrics": {{"throughput_tps": {}, "latency_p99_us": 50}}}}, )", tps - 0.2)
                        << fmt::format(R"({{"metrics": {{"throughput_tps": {}, "latency_p99_us": 50}}}}, )", tps)
                        << fmt::format(R"({{"metrics": {{"throughput_tps": {}, "latency_p99_us": 50}}}}]}}]}})", tps + 0.2);
    return file;
  };
  const double noise[] = {0.4, -0.6, 0.9, -0.3, 0.1, -0.8, 0.5, 0.2, -0.4, 0.7};
  for (int day = 1; day <= 10; ++day) {
    const Outcome add = cli(fmt::format("history add {} --db {}", write_run(day, 100 + noise[day - 1]).string(), db.string()));
    ASSERT_EQ(add.exit_code, 0) << add.err;
  }
  // A run like the others passes; a run 10 % slower fails the check.
  EXPECT_EQ(cli(fmt::format("history check {} --db {}", write_run(11, 100.2).string(), db.string())).exit_code, 0);
  const Outcome slow = cli(fmt::format("history check {} --db {}", write_run(12, 90).string(), db.string()));
  EXPECT_EQ(slow.exit_code, 1) << slow.out;
  EXPECT_NE(slow.out.find("outside the one-sided prediction interval of the last 10 runs"), std::string::npos) << slow.out;
  // The same run twice is refused.
  const Outcome again = cli(fmt::format("history add {} --db {}", (dir / "run1.json").string(), db.string()));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already in the history"), std::string::npos) << again.err;
  // Five slower runs: one change point, at the first of them (day 13, git rev13).
  for (int day = 13; day <= 17; ++day)
    ASSERT_EQ(cli(fmt::format("history add {} --db {}", write_run(day, 90 + noise[day - 13]).string(), db.string())).exit_code, 0);
  const Outcome changes = cli(fmt::format("history changes --db {}", db.string()));
  EXPECT_EQ(changes.exit_code, 0) << changes.err;
  EXPECT_NE(changes.out.find("a throughput_tps: change at run 11 (git rev13, 2026-11-13T03:17:00Z)"), std::string::npos)
      << changes.out;
  EXPECT_NE(changes.out.find("1 change point in 2 series"), std::string::npos) << changes.out;
  // Not a history database: refused, and left as it was.
  std::ofstream(dir / "other.sqlite") << "not sqlite";
  const Outcome foreign = cli(fmt::format("history changes --db {}", (dir / "other.sqlite").string()));
  EXPECT_EQ(foreign.exit_code, 2) << foreign.err;
  EXPECT_EQ(slurp(dir / "other.sqlite"), "not sqlite");
}

}  // namespace

namespace {

TEST(CliConfirm, InconclusiveGatingVerdictsTakeMoreRepetitions) {
  const fs::path dir = scratch() / "confirm";
  fs::create_directories(dir);
  const std::string run = "run -s 1m-short --set backend.messages=20000 --set measure.max_foreign_cpu=0 -r 3 --warmup 0 -q";
  ASSERT_LE(cli(fmt::format("{} --out {}/base.json", run, dir.string())).exit_code, 1);
  // A baseline whose gating figures scatter over six orders of magnitude: no
  // change against it can be told from noise, so the first look is inconclusive.
  auto base = nlohmann::json::parse(slurp(dir / "base.json"));
  const double scatter[] = {1e3, 1e9, 5e6};
  for (std::size_t k = 0; k < 3; ++k) {
    base["scenarios"][0]["repetitions"][k]["metrics"]["throughput_tps"] = scatter[k];
    base["scenarios"][0]["repetitions"][k]["metrics"]["latency_p99_us"] = scatter[k] / 1e3;
  }
  std::ofstream(dir / "scattered.json") << base.dump();
  const Outcome o = cli(fmt::format("{} --baseline {}/scattered.json --confirm 2 --out {}/new.json", run, dir.string(), dir.string()));
  EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 1) << o.out << o.err;  // 1 only if a performance threshold failed
  EXPECT_NE(o.out.find("confirming: 2 more repetitions of 1 scenario in fresh processes"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("each look at alpha = 0.025"), std::string::npos) << o.out;
  const auto after = nlohmann::json::parse(slurp(dir / "new.json"));
  EXPECT_EQ(after["scenarios"][0]["repetitions"].size(), 5u);
  EXPECT_EQ(after["method"]["processes"], 3);
}

}  // namespace

namespace {

TEST(CliFormats, BencherMetricFormatCarriesEveryTrackedMetricWithItsInterval) {
  const fs::path dir = scratch() / "bmf";
  fs::create_directories(dir);
  ASSERT_LE(cli(fmt::format("run -s 1m-short --set backend.messages=20000 -r 3 --warmup 0 -q --no-calibrate --out-bmf {}/b.json "
                            "--out {}/r.json", dir.string(), dir.string())).exit_code, 1);
  const auto bmf = nlohmann::json::parse(slurp(dir / "b.json"));
  const auto results = nlohmann::json::parse(slurp(dir / "r.json"));
  ASSERT_TRUE(bmf.contains("aiway/1m-short"));
  for (const char* measure : {"throughput_tps", "latency_p99_us", "cpu_share", "rss_growth_bytes", "loss_ratio", "lost_unaccounted"}) {
    const auto& m = bmf["aiway/1m-short"][measure];
    ASSERT_TRUE(m.is_object()) << measure;
    EXPECT_LE(m["lower_value"].get<double>(), m["value"].get<double>()) << measure;
    EXPECT_GE(m["upper_value"].get<double>(), m["value"].get<double>()) << measure;
    EXPECT_DOUBLE_EQ(m["value"].get<double>(), results["scenarios"][0]["summary"][measure]["median"].get<double>()) << measure;
  }
}

// The OpenMetrics file as its consumers read it: promtool's linter, and a real
// Pushgateway (started here on a loopback port) that takes it and serves it back.
TEST(CliFormats, OpenMetricsPassesPromtoolAndRoundTripsThroughAPushgateway) {
  if (std::system("command -v promtool >/dev/null && command -v prometheus-pushgateway >/dev/null && command -v curl >/dev/null") != 0)
    GTEST_SKIP() << "promtool, prometheus-pushgateway or curl not installed (Debian: prometheus prometheus-pushgateway curl; "
                    "scripts/test.sh installs them)";
  const fs::path dir = scratch() / "openmetrics";
  fs::create_directories(dir);
  ASSERT_LE(cli(fmt::format("run -s 1m-short --set backend.messages=20000 -r 2 --warmup 0 -q --no-calibrate --out-openmetrics "
                            "{}/m.txt --out {}/r.json", dir.string(), dir.string())).exit_code, 1);
  const int code = bash(fmt::format(R"sh(
promtool check metrics < {0}/m.txt || {{ echo "promtool refused it"; exit 1; }}
for try in 1 2 3 4 5; do
  port=$(( 20000 + (RANDOM % 20000) ))
  prometheus-pushgateway --web.listen-address=127.0.0.1:$port --persistence.file= >{0}/pg.log 2>&1 &
  pg=$!
  for i in $(seq 1 100); do curl -sf http://127.0.0.1:$port/-/ready >/dev/null && break; kill -0 $pg 2>/dev/null || break; sleep 0.05; done
  curl -sf http://127.0.0.1:$port/-/ready >/dev/null && break
  kill $pg 2>/dev/null; wait $pg 2>/dev/null
done
trap 'kill $pg 2>/dev/null' EXIT
curl -sf --data-binary @{0}/m.txt http://127.0.0.1:$port/metrics/job/aiway/instance/test || {{ echo "push refused"; cat {0}/pg.log; exit 1; }}
curl -sf http://127.0.0.1:$port/api/v1/metrics > {0}/back.json || {{ echo "no read-back"; exit 1; }}
)sh", dir.string()), dir);
  ASSERT_EQ(code, 0) << slurp(dir / "script.out") << slurp(dir / "script.err");
  // The value the Pushgateway serves is the run's median throughput.
  const auto back = nlohmann::json::parse(slurp(dir / "back.json"));
  const auto results = nlohmann::json::parse(slurp(dir / "r.json"));
  const double median = results["scenarios"][0]["summary"]["throughput_tps"]["median"];
  bool found = false;
  for (const auto& group : back["data"]) {
    if (!group.contains("aiway_throughput_tokens_per_second")) continue;
    for (const auto& m : group["aiway_throughput_tokens_per_second"]["metrics"]) {
      EXPECT_EQ(m["labels"]["scenario"], "1m-short");
      EXPECT_NEAR(std::stod(m["value"].get<std::string>()), median, median * 1e-9);
      found = true;
    }
    EXPECT_TRUE(group.contains("aiway_latency_seconds")) << "the histogram went through too";
  }
  EXPECT_TRUE(found) << slurp(dir / "back.json");
}

}  // namespace

namespace {

// The counts of one stage, one per counted repetition.
std::vector<double> counted(const nlohmann::json& results, const std::string& metric) {
  std::vector<double> out;
  for (const auto& rep : results["scenarios"][0]["repetitions"])
    if (rep["metrics"].contains(metric)) out.push_back(rep["metrics"][metric].get<double>());
  return out;
}

// Why instruction counting cannot be tested here ("" when it can): a
// sanitizer's build, which valgrind cannot run, or a missing tool, which in CI
// is a failure (scripts/test.sh installs valgrind; taskset is util-linux's).
std::string counting_unavailable(std::initializer_list<const char*> tools) {
  if (under_sanitizer()) return "valgrind cannot run a sanitizer's build";
  for (const char* tool : tools)
    if (std::system(fmt::format("command -v {} >/dev/null 2>&1", tool).c_str()) != 0) {
      if (std::getenv("CI")) ADD_FAILURE() << tool << " is missing: scripts/test.sh installs what the suite needs";
      return fmt::format("no {} on this machine", tool);
    }
  return "";
}

double middle(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

// run --count-instructions: each stage's instructions per token, counted under
// callgrind, repeat to 0.1 % run after run (on a busy machine too: the suite
// runs beside stress-ng before a submission), a planted loop of known length
// shows exactly its length in its stage and nothing in the others, and compare
// calls it a regression by the count rule.
TEST(Cli, InstructionCountsRepeatAndSeeAPlantedLoopExactly) {
  if (const std::string why = counting_unavailable({"valgrind"}); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = scratch();
  const std::string common = "-s 1m-short -r 3 --warmup 0 --set backend.messages=200000 --count-instructions -q";
  for (const auto& [name, extra] : std::vector<std::pair<std::string, std::string>>{
           {"a", ""}, {"again", ""}, {"planted", "--set conductor.extra_work_instructions=20"}}) {
    const Outcome o = cli(fmt::format("run {} {} --out {}", common, extra, (dir / (name + ".json")).string()));
    ASSERT_LE(o.exit_code, 1) << o.out << o.err;  // a timing limit may fail on a busy machine; the counts are judged here
  }
  const auto a = nlohmann::json::parse(slurp(dir / "a.json")), again = nlohmann::json::parse(slurp(dir / "again.json")),
             planted = nlohmann::json::parse(slurp(dir / "planted.json"));
  for (const std::string stage : {"backend", "conductor", "surface"}) {
    const std::string metric = "instructions_per_token_" + stage;
    for (const auto* results : {&a, &again, &planted}) {
      const auto v = counted(*results, metric);
      ASSERT_EQ(v.size(), 3u) << metric;
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      EXPECT_GT(*lo, 10) << metric << ": a stage's own work is tens of instructions a token at least";
      EXPECT_LT((*hi - *lo) / middle(v), 0.001) << metric << ": three runs of one build apart by more than 0.1 %";
    }
    EXPECT_NEAR(middle(counted(again, metric)), middle(counted(a, metric)), middle(counted(a, metric)) * 0.001) << metric;
    // 20 instructions a token planted in the conductor: exactly there (a few a batch of 256 besides), nowhere else.
    const double added = middle(counted(planted, metric)) - middle(counted(a, metric));
    if (stage == "conductor") EXPECT_NEAR(added, 20, 0.1) << metric;
    else EXPECT_NEAR(added, 0, middle(counted(a, metric)) * 0.001) << metric;
  }
  // The gate judges counts by their own rule: the planted loop regresses by it.
  const Outcome plant = cli(fmt::format("compare {} {} --format json", (dir / "a.json").string(), (dir / "planted.json").string()));
  EXPECT_EQ(plant.exit_code, 1) << plant.out << plant.err;
  const Outcome same = cli(fmt::format("compare {} {} --format json", (dir / "a.json").string(), (dir / "again.json").string()));
  ASSERT_LE(same.exit_code, 1) << same.err;
  for (const auto& [outcome, regressed_metric] : {std::pair{&plant, "instructions_per_token_conductor"}, std::pair{&same, ""}}) {
    const nlohmann::json comparison = nlohmann::json::parse(outcome->out);  // kept: a range-for does not extend a temporary's subobject
    std::size_t judged = 0;
    for (const auto& m : comparison["scenarios"][0]["metrics"]) {
      const std::string metric = m["metric"];
      if (metric.rfind("instructions_per_token_", 0) != 0) continue;
      ++judged;
      EXPECT_TRUE(m["gating"].get<bool>()) << metric;
      EXPECT_EQ(m["rule"], "counted work: separated beyond the runs' own spread") << metric;
      EXPECT_EQ(m["verdict"], metric == regressed_metric ? "regressed" : "unchanged") << metric << ": " << m["reason"];
    }
    EXPECT_EQ(judged, 3u) << outcome->out;
  }
}

// Without valgrind, --count-instructions is refused before any work, in words.
TEST(Cli, CountingWithoutValgrindIsAnInputError) {
  const Outcome o = cli("run -s 1m-short -r 1 --count-instructions", "env PATH=/nonexistent");
  EXPECT_EQ(o.exit_code, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("no valgrind on PATH"), std::string::npos) << o.err;
}

// Comparing machines: the same build as "another machine" (pinned to one CPU,
// under a label of its own) differs in time and not in instructions: the
// machine; with a planted loop it differs in instructions: the software.
TEST(Cli, CompareMachinesTellsTheMachineFromTheSoftware) {
  if (const std::string why = counting_unavailable({"valgrind", "taskset"}); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = scratch();
  const std::string common = "-s 1m-short -r 2 --warmup 0 --set backend.messages=200000 --count-instructions -q";
  ASSERT_LE(cli(fmt::format("run {} --out {}", common, (dir / "here.json").string())).exit_code, 1);
  const std::string elsewhere = "env AIWAY_MACHINE_LABEL=one-cpu taskset -c 0";
  ASSERT_LE(cli(fmt::format("run {} --out {}", common, (dir / "there.json").string()), elsewhere).exit_code, 1);
  ASSERT_LE(cli(fmt::format("run {} --set conductor.extra_work_instructions=20 --out {}", common,
                            (dir / "there-changed.json").string()), elsewhere).exit_code, 1);
  const auto there = nlohmann::json::parse(slurp(dir / "there.json"));
  EXPECT_EQ(there["machine"]["label"], "one-cpu");
  EXPECT_NE(there["machine"]["fingerprint"], nlohmann::json::parse(slurp(dir / "here.json"))["machine"]["fingerprint"]);

  const Outcome machine = cli(fmt::format("compare-machines {} {} --html {}", (dir / "here.json").string(),
                                          (dir / "there.json").string(), (dir / "machines.html").string()));
  EXPECT_EQ(machine.exit_code, 0) << machine.err;
  EXPECT_NE(machine.out.find("the machine  this machine: "), std::string::npos) << machine.out;
  EXPECT_NE(machine.out.find("time at equal work"), std::string::npos) << machine.out;
  const std::string html = slurp(dir / "machines.html");
  EXPECT_NE(html.find("<svg class=\"chart\""), std::string::npos);
  EXPECT_NE(html.find("one-cpu"), std::string::npos);

  const Outcome software = cli(fmt::format("compare-machines {} {}", (dir / "here.json").string(),
                                           (dir / "there-changed.json").string()));
  EXPECT_EQ(software.exit_code, 0) << software.err;
  EXPECT_NE(software.out.find("the software: instructions per token"), std::string::npos) << software.out;
  EXPECT_NE(software.out.find("conductor +"), std::string::npos) << software.out;

  // compare says the same per scenario when the two sides are two machines.
  const Outcome compared = cli(fmt::format("compare {} {} --format json", (dir / "here.json").string(),
                                           (dir / "there.json").string()));
  ASSERT_LE(compared.exit_code, 1) << compared.err;
  const auto attribution = nlohmann::json::parse(compared.out)["scenarios"][0]["attribution"];
  EXPECT_EQ(attribution["cause"], "the machine") << attribution.dump();
  EXPECT_LT(std::fabs(attribution["instruction_change"].get<double>()), 0.001) << attribution.dump();
  // The same machine: no attribution.
  const Outcome same = cli(fmt::format("compare {} {} --format json", (dir / "here.json").string(),
                                       (dir / "here.json").string()));
  EXPECT_FALSE(nlohmann::json::parse(same.out)["scenarios"][0].contains("attribution"));
}

// ab --count-instructions: the first processes of each side count too, and the
// gate judges the counts by their rule: a build with a planted loop in its
// conductor regresses on instructions, named.
TEST(CliAb, CountsInstructionsAndGatesOnThem) {
  if (const std::string why = counting_unavailable({"valgrind"}); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = scratch() / "ab-counted";
  fs::create_directories(dir);
  for (const auto& [name, extra] : {std::pair<std::string, std::string>{"old", ""},
                                    std::pair<std::string, std::string>{"new", " --set conductor.extra_work_instructions=4"}}) {
    const fs::path script = dir / name;
    std::ofstream(script) << "#!/bin/sh\nexec " << AIWAY_CLI << " \"$@\"" << extra << "\n";
    fs::permissions(script, fs::perms::owner_all);
  }
  const Outcome o = cli(fmt::format("ab {0}/old {0}/new -s 1m-short --set backend.messages=200000 -r 3 --warmup 0 "
                                    "--count-instructions --format json --out-old {0}/old.json",
                                    dir.string()));
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  bool judged = false;
  const nlohmann::json comparison = nlohmann::json::parse(o.out);
  for (const auto& m : comparison["scenarios"][0]["metrics"])
    if (m["metric"] == "instructions_per_token_conductor") {
      judged = true;
      EXPECT_EQ(m["verdict"], "regressed") << m["reason"];
      EXPECT_NEAR(m["hodges_lehmann_shift"].get<double>(), 4, 0.1);
    }
  EXPECT_TRUE(judged) << o.out << o.err;
  std::size_t counted = 0;
  const nlohmann::json old_side = nlohmann::json::parse(slurp(dir / "old.json"));
  for (const auto& rep : old_side["scenarios"][0]["repetitions"])
    counted += rep["metrics"].contains("instructions_per_token_backend");
  EXPECT_EQ(counted, 3u) << "each of the 3 processes counted once";
}
