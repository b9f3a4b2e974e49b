// Results of a run, as plain data: what the results JSON, the console report
// and the comparison read. Every metric is declared in aiway/metrics.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "aiway/metrics.hpp"
#include "aiway/scenario.hpp"

namespace aiway {

// Named numbers, in the order they were set; units are in the names.
// A repetition's metrics in the order they were set, looked up by name in
// constant time (a results file may hold many thousands of names).
class Metrics {
 public:
  void set(const std::string& name, double value) {
    const auto [it, added] = index_.try_emplace(name, values_.size());
    if (added) values_.emplace_back(name, value);
    else values_[it->second].second = value;
  }
  std::optional<double> get(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return values_[it->second].second;
  }
  const std::vector<std::pair<std::string, double>>& values() const { return values_; }

 private:
  std::vector<std::pair<std::string, double>> values_;
  std::unordered_map<std::string, std::size_t> index_;
};

struct SpectrumLine {
  double value_us;
  double percentile;  // 0..1
  std::int64_t total_count;
};

struct RssPoint {
  double t_s;
  std::int64_t rss_bytes;
};

// One HTTP stream (target.kind = "http") as its client saw it: the data
// behind every across-streams metric, kept so a merge of shards computes them
// exactly as a single run would.
struct StreamRecord {
  std::uint32_t index = 0;   // the stream's number in the scenario
  std::string end;           // done, truncated, http error, refused, timed out, malformed, upstream error, open, not started
  std::string detail;        // why, when it did not end done
  double status = 0;         // HTTP status; 0: none came
  double start_s = 0;        // its due start, from the repetition's start
  double end_s = 0;          // when it ended (0: it never started)
  double tokens_sent = 0;    // by the upstream, for the answer the stream got
  double delivered = 0, missing = 0, duplicated = 0, reordered = 0, corrupted = 0;
  double chunks_upstream = 0, chunks = 0, body_bytes = 0;
  double request_lag_us = -1;  // request written after its due start; -1: never written
  // -1: not measured (no token, or one token for the gaps).
  double ttft_us = -1, itl_p50_us = -1, itl_p99_us = -1, itl_max_us = -1, tpot_us = -1, e2e_us = -1;
  bool good = false;         // done, and every [slo] objective met
};

struct Repetition {
  Metrics metrics;
  std::vector<StreamRecord> streams;  // HTTP targets only
  std::vector<SpectrumLine> latency_spectrum;  // end-to-end, corrected
  // The same histogram whole, in HdrHistogram's compressed exchange form
  // ("HISTF…", values in ns): what --out-hlog writes; empty without latency.
  std::string latency_histogram;
  std::vector<RssPoint> rss_timeline;
};

struct MetricSummary {
  double median = 0, min = 0, max = 0, mean = 0, cv = 0;
  std::size_t n = 0;
  // As pyperf warns: CV >= 10 %, or min or max 50 % or more away from the median.
  bool unstable = false;
};

struct ThresholdResult {
  std::string metric;     // e.g. throughput_tps
  std::string op;         // ">=" or "<="
  double limit = 0;
  std::string aggregate;  // "median" (performance) or "worst" (integrity)
  std::optional<double> value;  // absent when no repetition measured the metric
  bool passed = false;
};

// A stage's own counter as it declared itself: the comparison judges it in
// its direction (advisory), like a built-in metric.
struct CounterInfo {
  std::string unit;
  Better better = Better::neither;
};

// `merge`: the latency of every repetition of every merged run, from the sum
// of their histograms.
struct MergedLatency {
  std::uint32_t runs = 0;
  std::size_t repetitions = 0;
  std::int64_t tokens = 0;  // latencies recorded
  std::string histogram;    // HdrHistogram's compressed form, ns
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

struct ScenarioResult {
  Scenario scenario;  // resolved: defaults and overrides applied
  // The sweep combination this result is (run --sweep): field -> value. The
  // scenario's name then carries it too, e.g. "rapid-tokens[pipeline.batch=64]".
  std::vector<std::pair<std::string, std::string>> sweep;
  std::vector<Repetition> repetitions;
  // The foreign CPU share of each repetition that was discarded and taken
  // again because other work disturbed it (measure.max_foreign_cpu).
  std::vector<double> disturbed_reruns;
  std::vector<std::pair<std::string, MetricSummary>> summary;
  std::vector<ThresholdResult> thresholds;
  std::map<std::string, CounterInfo> counters;  // stage counters: metric ("conductor.hits") -> unit, direction
  std::optional<MergedLatency> merged;  // a `merge` result only
  std::string failure;  // a runtime failure (timeout, stuck stage); empty when the run completed
  bool passed = false;
};

struct ToolInfo {
  std::string name = "aiway-stress";
  std::string version;
  std::string git;
  std::string compiler;
  std::string build_type;
  std::string allocator;
  // The stages the run used that were compiled without optimisation
  // ("conductor passthrough"): their figures are a debug build's.
  std::vector<std::string> unoptimized_stages;
};

struct CacheInfo {
  std::string type;  // Data, Instruction, Unified
  int level = 0;
  std::int64_t size_bytes = 0;
  int num_sharing = 0;  // logical CPUs sharing it
};

// The machine's score on the calibration workload (aiway-stress calibrate).
struct Calibration {
  double score = 0;  // 1.0 = the reference machine; 2.0 = twice as fast
  double channel_tokens_per_s = 0;
  double memcpy_bytes_per_s = 0;
  double loop_ops_per_s = 0;
  double spread = 0;  // the widest part's (max - min) / median over its tries
  // Other work's share of the machine's CPU while it ran (absent where the
  // machine's CPU time cannot be read): a busy machine scores low.
  std::optional<double> foreign_cpu_share;
  // Not in the score: 1m-short's tokens (and 1m-medium's 100-byte ones)
  // through one bare moodycamel queue between two threads (no bound but a
  // spin, no accounting, nothing else): what the pipeline's throughput of
  // the same tokens is read against (throughput / this).
  double raw_hop_short_tokens_per_s = 0;
  double raw_hop_medium_tokens_per_s = 0;
};

struct MachineInfo {
  std::string fingerprint;
  // $AIWAY_MACHINE_LABEL: the user's own name for this machine, part of the
  // fingerprint (two labels are two machines: a container under a CPU quota,
  // a run pinned to one CPU); empty when unset.
  std::string label;
  std::string hostname;
  std::string cpu_model;
  int logical_cpus = 0;
  std::int64_t memory_bytes = 0;
  std::string kernel;
  std::string governor;
  std::string clock_source;
  std::optional<Calibration> calibration;
  std::vector<CacheInfo> caches;
  std::vector<double> load_avg;  // 1, 5, 15 minutes, when the run started
};

// How the repetitions were taken: a comparison can only trust a spread that
// includes the variation between processes and over time.
struct RunMethod {
  std::uint32_t processes = 1;  // repetitions spread over this many fresh processes
  bool interleave = false;      // scenarios took turns, one repetition at a time
};

struct RunResults {
  std::string schema = "aiway-stress/results/v1";
  ToolInfo tool;
  MachineInfo machine;
  RunMethod method;
  std::string started_at;  // UTC, ISO 8601
  bool interrupted = false;
  // Repetitions the command asked for, all scenarios together (0: unknown, a
  // file from before 0.3): an interrupted run says how far it got.
  std::uint64_t planned_repetitions = 0;
  bool passed = false;
  std::vector<ScenarioResult> scenarios;
};

}  // namespace aiway
