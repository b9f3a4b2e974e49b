#include "results/pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "aiway/input_error.hpp"
#include "aiway/scenario_file.hpp"
#include "compare/statistics.hpp"
#include "compare/verdict.hpp"
#include "compare/thresholds.hpp"
#include "measure/histogram_encoding.hpp"
#include "results/derived_metrics.hpp"

namespace aiway {
namespace {

// The first field in which two runs of a scenario differ, other than how many
// repetitions they took: pooling those would mix two workloads.
std::optional<std::string> workload_difference(const Scenario& a, const Scenario& b) {
  const auto fa = scenario_fields(a), fb = scenario_fields(b);
  for (std::size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
    const std::string name = fa[i].section.empty() ? fa[i].key : fa[i].section + "." + fa[i].key;
    if (name != "repetitions" && name != "warmup" && !(fa[i] == fb[i])) return name;
  }
  return std::nullopt;
}

}  // namespace

void append_repetitions(ScenarioResult& into, ScenarioResult&& from) {
  for (auto& rep : from.repetitions) into.repetitions.push_back(std::move(rep));
  into.disturbed_reruns.insert(into.disturbed_reruns.end(), from.disturbed_reruns.begin(), from.disturbed_reruns.end());
}

namespace {

// What pooling for a baseline and merging for a fleet differ in.
struct PoolRules {
  bool one_machine = true;   // a baseline is one machine class's
  bool whole_scenario = true;  // a baseline: every field agrees; a merge: the workload's
  const char* purpose = "pool runs";
  const char* interrupted = "an interrupted run is no baseline";
};

RunResults pool(std::vector<RunResults> runs, const std::vector<std::string>& sources, const PoolRules& rules) {
  if (runs.empty()) throw InputError("no results to pool");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].interrupted) throw InputError(fmt::format("{}: {}", sources[i], rules.interrupted));
    if (rules.one_machine && runs[i].machine.fingerprint != runs[0].machine.fingerprint)
      throw InputError(fmt::format("{}: machine {} is not {}'s ({}): pool runs of one machine class only", sources[i],
                                   runs[i].machine.fingerprint, sources[0], runs[0].machine.fingerprint));
  }
  RunResults out = std::move(runs[0]);
  std::vector<Calibration> calibrations;
  if (out.machine.calibration) calibrations.push_back(*out.machine.calibration);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    RunResults& run = runs[i];
    if (run.machine.calibration) calibrations.push_back(*run.machine.calibration);
    out.method.processes += run.method.processes;
    out.method.interleave = out.method.interleave && run.method.interleave;
    out.passed = out.passed && run.passed;
    for (auto& s : run.scenarios) {
      auto into = std::find_if(out.scenarios.begin(), out.scenarios.end(),
                               [&](const ScenarioResult& o) { return o.scenario.name == s.scenario.name; });
      if (into == out.scenarios.end()) {
        out.scenarios.push_back(std::move(s));
        continue;
      }
      if (rules.whole_scenario) {
        if (const auto field = workload_difference(into->scenario, s.scenario))
          throw InputError(fmt::format("{}: scenario {} ran with another {} than in {}: pool runs of one workload only",
                                       sources[i], s.scenario.name, *field, sources[0]));
      } else if (const auto differences = workload_differences(into->scenario, s.scenario); !differences.empty()) {
        throw InputError(fmt::format("{}: scenario {} ran another workload than in {} ({}): {} of one workload only",
                                     sources[i], s.scenario.name, sources[0], differences.front(), rules.purpose));
      }
      into->passed = into->passed && s.passed;
      if (into->failure.empty()) into->failure = s.failure;
      append_repetitions(*into, std::move(s));
    }
  }
  if (!calibrations.empty()) {
    // A measured calibration, not an average of several: the run with the median score.
    std::sort(calibrations.begin(), calibrations.end(), [](const auto& a, const auto& b) { return a.score < b.score; });
    out.machine.calibration = calibrations[calibrations.size() / 2];
  }
  for (auto& s : out.scenarios) {
    s.summary = summarize(s.repetitions);
    s.thresholds.clear();
  }
  return out;
}

}  // namespace

RunResults pool_runs(std::vector<RunResults> runs, const std::vector<std::string>& sources) {
  return pool(std::move(runs), sources, PoolRules{});
}

namespace {

// The latency of every repetition of a merged scenario, from the sum of their histograms.
MergedLatency merged_latency(const ScenarioResult& s, std::uint32_t runs) {
  std::optional<LatencyHistogram> sum;
  for (std::size_t k = 0; k < s.repetitions.size(); ++k) {
    if (s.repetitions[k].latency_histogram.empty()) continue;  // nothing was delivered
    std::string why;
    auto h = decode_histogram(s.repetitions[k].latency_histogram, &why);
    if (!h) throw InputError(fmt::format("scenario {}: repetition {}: latency_histogram: {}", s.scenario.name, k + 1, why));
    if (!sum) sum = std::move(*h);
    else sum->merge(*h);
  }
  MergedLatency m;
  m.runs = runs;
  m.repetitions = s.repetitions.size();
  if (!sum) return m;
  m.tokens = sum->count();
  m.histogram = encode_histogram(*sum);
  const auto us = [&](double p) { return double(sum->value_at_percentile(p)) / 1e3; };
  m.p50_us = us(50);
  m.p90_us = us(90);
  m.p99_us = us(99);
  m.p999_us = us(99.9);
  // The largest of the exact maxima, not the merged histogram's bucket.
  for (const auto& rep : s.repetitions) m.max_us = std::max(m.max_us, rep.metrics.get("latency_max_us").value_or(0));
  return m;
}

// Repetition k of every shard, as one repetition of the whole load: the
// streams together, every stream figure derived again from them, the token
// latencies from the summed histograms; CPU seconds summed, and any other
// figure the highest shard's (the uncorrected p99 has no histogram to sum).
Repetition combine_shard_repetitions(const std::vector<const Repetition*>& parts, const std::string& where,
                                     std::uint32_t streams) {
  Repetition out;
  std::optional<LatencyHistogram> sum;
  for (const Repetition* part : parts) {
    out.streams.insert(out.streams.end(), part->streams.begin(), part->streams.end());
    if (part->latency_histogram.empty()) continue;
    std::string why;
    auto h = decode_histogram(part->latency_histogram, &why);
    if (!h) throw InputError(fmt::format("{}: latency_histogram: {}", where, why));
    if (!sum) sum = std::move(*h);
    else sum->merge(*h);
  }
  std::sort(out.streams.begin(), out.streams.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (std::size_t i = 1; i < out.streams.size(); ++i)
    if (out.streams[i].index == out.streams[i - 1].index)
      throw InputError(fmt::format("{}: stream {} is in two shards: they are not slices of one load", where, out.streams[i].index));
  // Every stream of the load once: 0 .. streams - 1, none missing, none beyond.
  for (std::size_t i = 0; i < out.streams.size(); ++i)
    if (out.streams[i].index != i)
      throw InputError(fmt::format("{}: stream {} is missing from the shards{}: they do not make the whole load", where, i,
                                   out.streams[i].index >= streams ? fmt::format(" (stream {} is beyond its {} streams)",
                                                                                 out.streams[i].index, streams)
                                                                   : std::string()));
  if (!out.streams.empty() && out.streams.size() != streams)
    throw InputError(fmt::format("{}: the shards hold {} of the load's {} streams", where, out.streams.size(), streams));
  for (const Repetition* part : parts)
    for (const auto& [name, value] : part->metrics.values()) {
      const auto have = out.metrics.get(name);
      const bool seconds = name == "cpu_seconds" || name == "target_cpu_s";
      out.metrics.set(name, !have ? value : seconds ? *have + value : std::max(*have, value));
    }
  set_stream_metrics(out.streams, out.metrics);
  if (sum) {
    set_token_latency_metrics(*sum, out.metrics);
    out.latency_spectrum = spectrum_lines(*sum);
    out.latency_histogram = encode_histogram(*sum);
  }
  return out;
}

// Shards of one HTTP load (target.shard K/N, every K once) as one scenario result.
RunResults merge_shards(std::vector<RunResults> runs, const std::vector<std::string>& sources) {
  RunResults out = runs[0];
  out.scenarios.clear();
  out.method.processes = 0;
  std::map<std::string, std::vector<std::pair<ScenarioResult*, std::string>>> by_name;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].interrupted) throw InputError(fmt::format("{}: an interrupted run cannot be merged", sources[i]));
    if (runs[i].machine.fingerprint != runs[0].machine.fingerprint) out.machine.fingerprint = "several machines";
    out.method.processes += runs[i].method.processes;
    for (auto& s : runs[i].scenarios) {
      if (s.scenario.target.shard.empty())
        throw InputError(fmt::format("{}: scenario {} is no shard (target.shard): shards merge only with shards", sources[i],
                                     s.scenario.name));
      if (!by_name.count(s.scenario.name)) order.push_back(s.scenario.name);
      by_name[s.scenario.name].emplace_back(&s, sources[i]);
    }
  }
  for (const std::string& name : order) {
    auto& parts = by_name[name];
    const Scenario& first = parts.front().first->scenario;
    const auto n = parse_shard(first.target.shard)->second;
    std::vector<const ScenarioResult*> shard(n, nullptr);
    for (const auto& [s, source] : parts) {
      const auto [k, of] = *parse_shard(s->scenario.target.shard);
      if (of != n) throw InputError(fmt::format("{}: scenario {} is shard {} of {}, not of {}", source, name, k, of, n));
      if (shard[k - 1]) throw InputError(fmt::format("{}: scenario {}: shard {}/{} is given twice", source, name, k, n));
      if (const auto differences = workload_differences(first, s->scenario); !differences.empty())
        throw InputError(fmt::format("{}: scenario {} ran another workload than in {} ({}): shards of one load only", source,
                                     name, parts.front().second, differences.front()));
      if (s->repetitions.size() != parts.front().first->repetitions.size())
        throw InputError(fmt::format("{}: scenario {} has {} repetitions, {} has {}: shards take the same number", source, name,
                                     s->repetitions.size(), parts.front().second, parts.front().first->repetitions.size()));
      shard[k - 1] = s;
    }
    for (std::uint32_t k = 0; k < n; ++k)
      if (!shard[k]) throw InputError(fmt::format("scenario {}: shard {}/{} is missing: the merge would be part of the load", name, k + 1, n));
    ScenarioResult merged;
    merged.scenario = first;
    merged.scenario.target.shard.clear();
    merged.scenario.origin.erase("target.shard");
    for (std::size_t r = 0; r < shard[0]->repetitions.size(); ++r) {
      std::vector<const Repetition*> reps;
      for (const ScenarioResult* s : shard) reps.push_back(&s->repetitions[r]);
      merged.repetitions.push_back(
          combine_shard_repetitions(reps, fmt::format("scenario {} repetition {}", name, r + 1), first.backend.streams));
    }
    for (const ScenarioResult* s : shard)
      if (merged.failure.empty() && !s->failure.empty()) merged.failure = s->failure;
    // Judged again as a whole: the limits are the whole load's.
    merged.summary = summarize(merged.repetitions);
    merged.thresholds = evaluate_thresholds(merged.scenario.expect, merged.repetitions);
    merged.passed = merged.failure.empty() && !merged.repetitions.empty() &&
                    std::all_of(merged.thresholds.begin(), merged.thresholds.end(), [](const auto& t) { return t.passed; });
    if (merged.scenario.measure.latency) merged.merged = merged_latency(merged, n);
    out.scenarios.push_back(std::move(merged));
  }
  out.passed = std::all_of(out.scenarios.begin(), out.scenarios.end(), [](const auto& s) { return s.passed; });
  return out;
}

}  // namespace

RunResults merge_runs(std::vector<RunResults> runs, const std::vector<std::string>& sources) {
  const bool shards = std::any_of(runs.begin(), runs.end(), [](const RunResults& r) {
    return std::any_of(r.scenarios.begin(), r.scenarios.end(), [](const auto& s) { return !s.scenario.target.shard.empty(); });
  });
  if (shards && !runs.empty()) return merge_shards(std::move(runs), sources);
  // Which runs each scenario came from, before pooling takes them apart.
  std::map<std::string, std::uint32_t> runs_of;
  std::map<std::string, std::string> first_without;  // scenario -> a source with a repetition lacking its histogram
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (const auto& s : runs[i].scenarios) {
      ++runs_of[s.scenario.name];
      for (const auto& rep : s.repetitions)
        if (rep.latency_histogram.empty() && s.scenario.measure.latency) first_without.emplace(s.scenario.name, sources[i]);
    }
  const bool one_machine = std::all_of(runs.begin(), runs.end(), [&](const RunResults& r) {
    return r.machine.fingerprint == runs[0].machine.fingerprint;
  });
  RunResults out = pool(std::move(runs), sources, PoolRules{false, false, "merge runs", "an interrupted run cannot be merged"});
  if (!one_machine) out.machine.fingerprint = "several machines";
  for (auto& s : out.scenarios) {
    if (!s.scenario.measure.latency || s.repetitions.empty()) continue;
    if (const auto it = first_without.find(s.scenario.name); it != first_without.end())
      throw InputError(fmt::format("{}: scenario {} has a repetition without its latency histogram (results from an "
                                   "older version): it cannot be merged exactly",
                                   it->second, s.scenario.name));
    s.merged = merged_latency(s, runs_of[s.scenario.name]);
  }
  return out;
}

}  // namespace aiway
