#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include "aiway/scenario_file.hpp"
#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "results/results_json.hpp"

#include "results/derived_metrics.hpp"

namespace aiway {

nlohmann::ordered_json scenario_config_json(const Scenario& scenario) {
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const Field& field : scenario_fields(scenario)) {
    nlohmann::ordered_json value;  // null for an unset optional
    std::visit([&](const auto& v) {
      if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) value = v;
    }, field.value);
    if (field.section.empty()) config[field.key] = value;
    else config[field.section][field.key] = value;
  }
  return config;
}

nlohmann::ordered_json calibration_json(const Calibration& c) {
  return {{"score", c.score},
          {"channel_tokens_per_s", c.channel_tokens_per_s},
          {"memcpy_bytes_per_s", c.memcpy_bytes_per_s},
          {"loop_ops_per_s", c.loop_ops_per_s},
          {"raw_hop_short_tokens_per_s", c.raw_hop_short_tokens_per_s},
          {"raw_hop_medium_tokens_per_s", c.raw_hop_medium_tokens_per_s},
          {"spread", c.spread},
          {"foreign_cpu_share", c.foreign_cpu_share ? nlohmann::ordered_json(*c.foreign_cpu_share) : nullptr}};
}

namespace {

// HTTP targets' per-stream records, as a table: the columns once, a row per stream.
nlohmann::ordered_json streams_json(const std::vector<StreamRecord>& streams) {
  using json = nlohmann::ordered_json;
  json columns = json::array(), rows = json::array();
  for (const StreamColumn& c : kStreamColumns) columns.push_back(c.name);
  for (const StreamRecord& r : streams) {
    json row = json::array();
    for (const StreamColumn& c : kStreamColumns) {
      if (c.number) row.push_back(r.*c.number);
      else if (c.text) row.push_back(r.*c.text);
      else if (c.flag) row.push_back(r.*c.flag);
      else row.push_back(r.index);
    }
    rows.push_back(std::move(row));
  }
  return {{"columns", columns}, {"rows", rows}};
}
constexpr std::size_t kCompactRssPoints = 32;

// At most kCompactRssPoints + 1: evenly spaced, the first, the last and the
// peak always among them.
std::vector<RssPoint> thinned(const std::vector<RssPoint>& timeline) {
  if (timeline.size() <= kCompactRssPoints) return timeline;
  std::vector<std::size_t> keep;
  const double step = double(timeline.size() - 1) / double(kCompactRssPoints - 1);
  for (std::size_t i = 0; i < kCompactRssPoints; ++i) keep.push_back(std::size_t(std::llround(double(i) * step)));
  const auto peak = std::max_element(timeline.begin(), timeline.end(),
                                     [](const RssPoint& a, const RssPoint& b) { return a.rss_bytes < b.rss_bytes; });
  keep.push_back(std::size_t(peak - timeline.begin()));
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  std::vector<RssPoint> out;
  for (std::size_t k : keep) out.push_back(timeline[k]);
  return out;
}
}  // namespace

namespace {
// Ten significant digits: far below any run-to-run spread, and a third of the bytes.
double ten_digits(double v) {
  if (!std::isfinite(v) || v == 0) return v;
  return std::stod(fmt::format("{:.10g}", v));
}
}  // namespace

const Repetition* representative_repetition(const ScenarioResult& r) {
  std::vector<const Repetition*> reps;
  for (const auto& rep : r.repetitions)
    if (!rep.latency_spectrum.empty() || !rep.latency_histogram.empty()) reps.push_back(&rep);
  if (reps.empty()) return nullptr;
  const auto p99 = [](const Repetition* rep) { return rep->metrics.get("latency_p99_us").value_or(0); };
  std::stable_sort(reps.begin(), reps.end(), [&](auto* a, auto* b) { return p99(a) < p99(b); });
  return reps[reps.size() / 2];
}

std::string results_json_text(const RunResults& results, bool compact) {
  return compact ? results_to_json(results, true).dump() + "\n" : results_to_json(results).dump(2) + "\n";
}

nlohmann::ordered_json results_to_json(const RunResults& results, bool compact) {
  using json = nlohmann::ordered_json;
  json out;
  out["schema"] = results.schema;
  out["tool"] = {{"name", results.tool.name},       {"version", results.tool.version},
                 {"git", results.tool.git},         {"compiler", results.tool.compiler},
                 {"build_type", results.tool.build_type}, {"allocator", results.tool.allocator},
                 {"unoptimized_stages", results.tool.unoptimized_stages}};
  const MachineInfo& m = results.machine;
  out["machine"] = {{"fingerprint", m.fingerprint}, {"hostname", m.hostname},     {"cpu_model", m.cpu_model},
                    {"logical_cpus", m.logical_cpus}, {"memory_bytes", m.memory_bytes}, {"kernel", m.kernel},
                    {"governor", m.governor},       {"clock_source", m.clock_source},
                    {"calibration_score", m.calibration ? json(m.calibration->score) : json(nullptr)},
                    {"load_avg", m.load_avg}};
  json caches = json::array();
  for (const auto& c : m.caches)
    caches.push_back({{"type", c.type}, {"level", c.level}, {"size", c.size_bytes}, {"num_sharing", c.num_sharing}});
  out["machine"]["caches"] = caches;
  if (m.calibration) out["machine"]["calibration"] = calibration_json(*m.calibration);
  if (!m.label.empty()) out["machine"]["label"] = m.label;
  out["method"] = {{"processes", results.method.processes}, {"interleave", results.method.interleave}};
  out["started_at"] = results.started_at;
  out["interrupted"] = results.interrupted;
  out["planned_repetitions"] = results.planned_repetitions;
  if (results.interrupted) out["interruption"] = describe_interrupted(results);
  out["passed"] = results.passed;
  json scenarios = json::array();
  for (const auto& r : results.scenarios) {
    json s;
    s["name"] = r.scenario.name;
    if (!r.sweep.empty()) {
      json sweep = json::object();
      for (const auto& [field, value] : r.sweep) sweep[field] = value;
      s["sweep"] = sweep;
    }
    s["config"] = scenario_config_json(r.scenario);
    // Compact: one repetition keeps its latency distribution -- the one with
    // the median p99, which the report draws as the baseline's spectrum.
    const Repetition* drawn = compact ? representative_repetition(r) : nullptr;
    json reps = json::array();
    for (const auto& rep : r.repetitions) {
      json metrics = json::object();
      for (const auto& [name, value] : rep.metrics.values()) metrics[name] = compact ? ten_digits(value) : value;
      const bool distribution = !compact || &rep == drawn;
      json spectrum = json::array();
      if (distribution && (!compact || rep.latency_histogram.empty()))
        for (const auto& line : rep.latency_spectrum) spectrum.push_back({line.value_us, line.percentile, line.total_count});
      json timeline = json::array();
      for (const auto& point : compact ? thinned(rep.rss_timeline) : rep.rss_timeline) timeline.push_back({point.t_s, point.rss_bytes});
      json one = {{"metrics", metrics},
                  {"latency_spectrum", {{"columns", {"value_us", "percentile", "total_count"}}, {"rows", spectrum}}},
                  {"rss_timeline", {{"columns", {"t_s", "rss_bytes"}}, {"rows", timeline}}}};
      if (distribution && !rep.latency_histogram.empty()) one["latency_histogram"] = rep.latency_histogram;
      if (!compact && !rep.streams.empty()) one["streams"] = streams_json(rep.streams);
      reps.push_back(std::move(one));
    }
    s["repetitions"] = reps;
    s["disturbed_reruns"] = r.disturbed_reruns;
    if (r.merged) {
      const MergedLatency& m = *r.merged;
      s["merged"] = {{"runs", m.runs},           {"repetitions", m.repetitions}, {"latencies", m.tokens},
                     {"latency_p50_us", m.p50_us}, {"latency_p90_us", m.p90_us},   {"latency_p99_us", m.p99_us},
                     {"latency_p999_us", m.p999_us}, {"latency_max_us", m.max_us},  {"latency_histogram", m.histogram}};
    }
    if (!r.counters.empty()) {
      json counters = json::object();
      for (const auto& [name, info] : r.counters)
        counters[name] = {{"unit", info.unit}, {"better", to_string(info.better)}};
      s["stage_counters"] = counters;
    }
    if (!compact) {  // derived from the repetitions: a reader recomputes it
      json summary = json::object();
      for (const auto& [name, sm] : r.summary)
        summary[name] = {{"median", sm.median}, {"min", sm.min}, {"max", sm.max}, {"mean", sm.mean},
                         {"cv", sm.cv},         {"n", sm.n},     {"unstable", sm.unstable}};
      s["summary"] = summary;
    }
    json thresholds = json::array();
    for (const auto& t : r.thresholds)
      thresholds.push_back({{"metric", t.metric}, {"op", t.op}, {"limit", t.limit}, {"aggregate", t.aggregate},
                            {"value", t.value ? json(*t.value) : json(nullptr)}, {"passed", t.passed}});
    s["thresholds"] = thresholds;
    s["unstable"] = unstable_headline_metrics(r);
    const std::string disturbed = describe_disturbed(disturbance_of(r));
    s["disturbed"] = disturbed.empty() ? json(nullptr) : json(disturbed);
    s["failure"] = r.failure.empty() ? json(nullptr) : json(r.failure);
    s["passed"] = r.passed;
    scenarios.push_back(std::move(s));
  }
  out["scenarios"] = scenarios;
  return out;
}

}  // namespace aiway
