#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "report/reporter.hpp"

namespace aiway {
namespace {

using json = nlohmann::ordered_json;

// Google Benchmark's JSON (json_schema_version 1): one "iteration" entry per
// repetition and _mean/_median/_stddev/_cv aggregates, iterations = tokens,
// real_time / cpu_time = ns per delivered token, so compare.py and continuous
// benchmarking services read it unchanged.
class GbenchReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    json root;
    const MachineInfo& m = results.machine;
    json caches = json::array();
    for (const auto& c : m.caches)
      caches.push_back({{"type", c.type}, {"level", c.level}, {"size", c.size_bytes}, {"num_sharing", c.num_sharing}});
    root["context"] = {{"date", results.started_at},
                       {"host_name", m.hostname},
                       {"executable", "aiway-stress"},
                       {"num_cpus", m.logical_cpus},
                       {"mhz_per_cpu", 0},
                       {"cpu_scaling_enabled", false},
                       {"caches", caches},
                       {"load_avg", m.load_avg},
                       {"library_build_type", results.tool.build_type == "Release" ? "release" : "debug"},
                       {"aiway_git", results.tool.git},
                       {"aiway_allocator", results.tool.allocator},
                       {"json_schema_version", 1}};
    if (results.interrupted) root["context"]["aiway_interrupted"] = describe_interrupted(results);
    json benchmarks = json::array();
    int family = 0;
    for (const auto& r : results.scenarios) {
      const std::string name = "aiway/" + r.scenario.name;
      std::vector<json> entries;
      for (std::size_t i = 0; i < r.repetitions.size(); ++i) {
        json e = entry(name, family, r.repetitions.size());
        e["run_type"] = "iteration";
        e["repetition_index"] = i;
        const Metrics& mt = r.repetitions[i].metrics;
        const double tokens = mt.get("tokens_delivered").value_or(0);
        e["iterations"] = std::int64_t(tokens);
        e["real_time"] = tokens > 0 ? mt.get("wall_s").value_or(0) * 1e9 / tokens : 0.0;
        e["cpu_time"] = tokens > 0 ? mt.get("cpu_seconds").value_or(0) * 1e9 / tokens : 0.0;
        e["time_unit"] = "ns";
        for (const auto& [counter, metric, scale] : kCounters)
          if (const auto v = mt.get(metric)) e[counter] = *v * scale;
        entries.push_back(e);
      }
      for (const auto& name : unstable_headline_metrics(r)) root["context"]["aiway_unstable"].push_back(r.scenario.name + ":" + name);
      if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
        root["context"]["aiway_disturbed"].push_back(r.scenario.name + ": " + d);
      for (auto& e : entries) benchmarks.push_back(e);
      if (entries.size() > 1) add_aggregates(name, family, entries, benchmarks);
      ++family;
    }
    root["benchmarks"] = benchmarks;
    out << root.dump(2) << "\n";
  }

 private:
  struct Counter {
    const char* counter;
    const char* metric;
    double scale;
  };
  static constexpr Counter kCounters[] = {
      {"items_per_second", "throughput_tps", 1},     {"bytes_per_second", "throughput_bytes_per_s", 1},
      {"p50_ns", "latency_p50_us", 1e3},             {"p99_ns", "latency_p99_us", 1e3},
      {"p999_ns", "latency_p999_us", 1e3},           {"rss_growth_bytes", "rss_growth_bytes", 1},
      {"cpu_share", "cpu_share", 1},                 {"quit_latency_ns", "quit_latency_us", 1e3},
      {"lost_unaccounted", "lost_unaccounted", 1},   {"allocs_per_token", "allocs_per_token", 1},
      {"instructions_per_token_backend", "instructions_per_token_backend", 1},
      {"instructions_per_token_conductor", "instructions_per_token_conductor", 1},
      {"instructions_per_token_surface", "instructions_per_token_surface", 1},
  };

  static json entry(const std::string& name, int family, std::size_t repetitions) {
    return {{"name", name},         {"family_index", family}, {"per_family_instance_index", 0},
            {"run_name", name},     {"run_type", ""},         {"repetitions", repetitions},
            {"repetition_index", 0}, {"threads", 1}};
  }

  static void add_aggregates(const std::string& name, int family, const std::vector<json>& entries, json& out) {
    std::vector<std::string> fields = {"real_time", "cpu_time"};
    for (const auto& c : kCounters)
      if (entries.front().contains(c.counter)) fields.push_back(c.counter);
    for (const char* aggregate : {"mean", "median", "stddev", "cv"}) {
      json a = entry(name + "_" + aggregate, family, entries.size());
      a["run_name"] = name;
      a["run_type"] = "aggregate";
      a["aggregate_name"] = aggregate;
      a["aggregate_unit"] = std::string(aggregate) == "cv" ? "percentage" : "time";
      a.erase("repetition_index");
      a["iterations"] = entries.size();
      for (const auto& field : fields) {
        std::vector<double> values;
        for (const auto& e : entries)
          if (e.contains(field)) values.push_back(e[field].get<double>());
        const MetricSummary s = summarize(values);
        double stddev = s.n > 1 ? s.cv * std::fabs(s.mean) : 0;
        const std::string which = aggregate;
        a[field] = which == "mean" ? s.mean : which == "median" ? s.median : which == "stddev" ? stddev : s.cv;
      }
      a["time_unit"] = "ns";
      out.push_back(a);
    }
  }
};

}  // namespace

std::unique_ptr<Reporter> make_gbench_reporter() { return std::make_unique<GbenchReporter>(); }

}  // namespace aiway
