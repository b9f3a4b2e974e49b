#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "aiway/scenario_file.hpp"
#include "compare/statistics.hpp"
#include "compare/thresholds.hpp"
#include "measure/histogram_encoding.hpp"
#include "files/input_file.hpp"
#include "results/results_json.hpp"
#include "results/derived_metrics.hpp"

namespace aiway {
namespace {

using json = nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  const json& field(const json& object, const std::string& path, const char* key, json::value_t type) const {
    const std::string where = path.empty() ? key : fmt::format("{}.{}", path, key);
    if (!object.is_object() || !object.contains(key)) fail(where, "missing");
    const json& value = object.at(key);
    const bool ok = type == json::value_t::number_float ? value.is_number() : value.type() == type;
    if (!ok) fail(where, fmt::format("expected {}, found {}", name(type), value.type_name()));
    return value;
  }
  std::string text(const json& object, const std::string& path, const char* key) const {
    return field(object, path, key, json::value_t::string).get<std::string>();
  }
  // A table stored as {"columns": [...], "rows": [[...], ...]}; optional (an empty table when absent).
  template <typename Row, typename F>
  std::vector<Row> rows(const json& object, const std::string& path, const char* key, F&& make) const {
    std::vector<Row> out;
    if (!object.contains(key)) return out;
    const std::string where = fmt::format("{}.{}", path, key);
    const json& table = field(object, path, key, json::value_t::object);
    const json& list = field(table, where, "rows", json::value_t::array);
    for (std::size_t i = 0; i < list.size(); ++i) out.push_back(make(list[i], fmt::format("{}.rows[{}]", where, i)));
    return out;
  }
  // Element `index` of an array of numbers, in range for an int64.
  double number(const json& row, const std::string& where, std::size_t index) const {
    if (!row.is_array() || row.size() <= index || !row[index].is_number())
      fail(where, fmt::format("expected a number at position {}", index));
    const double v = row[index].get<double>();
    if (!(std::fabs(v) < 9e18)) fail(where, fmt::format("{} is out of range", v));
    return v;
  }
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw ResultsError(fmt::format("{}: {}: {}", source_, where, what));
  }

 private:
  static const char* name(json::value_t type) {
    switch (type) {
      case json::value_t::object: return "an object";
      case json::value_t::array: return "an array";
      case json::value_t::string: return "a string";
      case json::value_t::boolean: return "true or false";
      default: return "a number";
    }
  }
  std::string source_;
};

// HTTP targets' per-stream records; the columns are found by name, so a file
// with columns in another order, or more of them, still reads.
std::vector<StreamRecord> read_streams(const Reader& r, const json& table, const std::string& where) {
  if (!table.is_object()) r.fail(where, "expected {\"columns\": [...], \"rows\": [...]}");
  const json& columns = r.field(table, where, "columns", json::value_t::array);
  std::vector<const StreamColumn*> by_position;
  for (const json& name : columns) {
    const StreamColumn* found = nullptr;
    for (const StreamColumn& c : kStreamColumns)
      if (name.is_string() && name.get<std::string>() == c.name) found = &c;
    by_position.push_back(found);
  }
  for (const StreamColumn& c : kStreamColumns)
    if (std::none_of(by_position.begin(), by_position.end(), [&](const StreamColumn* p) { return p == &c; }))
      r.fail(where + ".columns", fmt::format("missing the column \"{}\"", c.name));
  const json& rows = r.field(table, where, "rows", json::value_t::array);
  std::vector<StreamRecord> out;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const json& row = rows[k];
    const std::string at = fmt::format("{}.rows[{}]", where, k);
    if (!row.is_array() || row.size() != by_position.size()) r.fail(at, fmt::format("expected {} values", by_position.size()));
    StreamRecord s;
    for (std::size_t i = 0; i < by_position.size(); ++i) {
      const StreamColumn* c = by_position[i];
      if (!c) continue;
      if (c->text) {
        if (!row[i].is_string()) r.fail(at, fmt::format("{}: expected a string", c->name));
        s.*c->text = row[i].get<std::string>();
      } else if (c->flag) {
        if (!row[i].is_boolean()) r.fail(at, fmt::format("{}: expected true or false", c->name));
        s.*c->flag = row[i].get<bool>();
      } else {
        const double v = r.number(row, at, i);
        if (c->number) s.*c->number = v;
        else if (v < 0 || v >= 4096 || v != std::floor(v)) r.fail(at, fmt::format("{}: {} is not a stream index (0 to 4095)", c->name, v));
        else s.index = std::uint32_t(v);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The scenario's [compare] thresholds, checked as a scenario file's would be.
// The resolved scenario as TOML, for the scenario parser: top-level fields,
// then one table per section; unset optionals (null) left out.
std::string config_as_toml(const json& config) {
  std::string top, tables;
  for (const auto& [key, value] : config.items()) {
    if (value.is_object()) {
      tables += fmt::format("\n[{}]\n", key);
      for (const auto& [field, v] : value.items())
        if (!v.is_null()) tables += fmt::format("{} = {}\n", field, v.dump());
    } else if (!value.is_null()) {
      top += fmt::format("{} = {}\n", key, value.dump());
    }
  }
  return top + tables;
}

// The scenario a result ran ("config": every field, resolved), read back with
// the scenario parser's own checks, so it behaves exactly as the run's did. A
// bad value of a known field is an error naming that field. Only a config
// that names fields this version does not know (a file from another version)
// is read in part: what a comparison needs, the [compare] thresholds and the
// foreign-CPU limit its repetitions were judged by.
void read_config(const Reader& r, const json& scenario, const std::string& at, Scenario& into) {
  if (!scenario.contains("config") || !scenario["config"].is_object()) return;
  const json& config = scenario["config"];
  const std::string where = at + ".config";
  try {
    into = parse_scenario(config_as_toml(config), where);
    return;
  } catch (const ScenarioError& e) {
    // "where:LINE:COLUMN: field: what": the line of generated TOML means nothing to a reader.
    std::string what = e.what();
    if (what.starts_with(where + ":")) {
      const std::size_t fields = what.find(": ", where.size());
      if (fields != std::string::npos) what = what.substr(fields + 2);
    }
    const bool another_version = what.find("unknown key") != std::string::npos || what.find("unknown section") != std::string::npos;
    if (!another_version) r.fail(where, what);
  }
  const auto apply = [&](const std::string& field, const json& value) {
    if (!value.is_number() && !value.is_string())
      r.fail(fmt::format("{}.{}", where, field), fmt::format("expected a number, a string or null, found {}", value.type_name()));
    try {
      // JSON's number and string forms are TOML's too; the scenario parser checks the value.
      apply_overrides(into, {fmt::format("{}={}", field, value.dump())});
    } catch (const ScenarioError& e) {
      // A threshold of a metric this version does not compare judges nothing here.
      if (std::string_view(e.what()).find("unknown key") == std::string_view::npos) r.fail(fmt::format("{}.{}", where, field), e.what());
    }
  };
  if (config.contains("compare")) {
    const json& table = r.field(config, where, "compare", json::value_t::object);
    for (const auto& [metric, value] : table.items())
      if (!value.is_null()) apply("compare." + metric, value);
  }
  if (config.contains("measure") && config["measure"].is_object() && config["measure"].contains("max_foreign_cpu"))
    apply("measure.max_foreign_cpu", config["measure"]["max_foreign_cpu"]);  // absent in older files
}

// JSON nested deeper than this is no results file (the schema needs 5 levels);
// refusing it keeps every recursive walk of the document on a small stack.
constexpr int kMaxNesting = 64;

// The document, or a ResultsError naming where it nests too deeply
// ("scenarios[0].config.x: nested too deeply"), found while parsing.
json parse_bounded(const std::string& text, const std::string& source) {
  struct Frame {
    bool array;
    std::size_t index = 0;
    std::string key;
  };
  std::vector<Frame> stack;
  auto path = [&] {
    std::string p;
    for (const auto& f : stack) {
      if (f.array) p += fmt::format("[{}]", f.index);
      else if (!f.key.empty()) p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  };
  // Counts an array element that has just begun or ended as a value.
  auto element = [&] {
    if (!stack.empty() && stack.back().array) ++stack.back().index;
  };
  return json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::key:
        if (!stack.empty()) stack.back().key = parsed.get<std::string>();
        break;
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxNesting)
          throw ResultsError(fmt::format("{}: {}: nested too deeply (more than {} levels)", source,
                                         path().empty() ? "(top)" : path(), kMaxNesting));
        stack.push_back({event == json::parse_event_t::array_start, 0, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        element();
        break;
      case json::parse_event_t::value: element(); break;
    }
    return true;
  });
}

ToolInfo read_tool(const Reader& r, const json& root) {
  ToolInfo out;
  const json& tool = r.field(root, "", "tool", json::value_t::object);
  out.version = r.text(tool, "tool", "version");
  out.git = r.text(tool, "tool", "git");
  out.compiler = r.text(tool, "tool", "compiler");
  out.build_type = r.text(tool, "tool", "build_type");
  out.allocator = r.text(tool, "tool", "allocator");
  if (tool.contains("unoptimized_stages")) {  // since 0.11
    const json& stages = r.field(tool, "tool", "unoptimized_stages", json::value_t::array);
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (!stages[i].is_string()) r.fail(fmt::format("tool.unoptimized_stages[{}]", i), "expected a string");
      out.unoptimized_stages.push_back(stages[i].get<std::string>());
    }
  }
  return out;
}

MachineInfo read_machine(const Reader& r, const json& root) {
  MachineInfo out;
  const json& machine = r.field(root, "", "machine", json::value_t::object);
  out.fingerprint = r.text(machine, "machine", "fingerprint");
  out.cpu_model = r.text(machine, "machine", "cpu_model");
  const double cpus = r.field(machine, "machine", "logical_cpus", json::value_t::number_float).get<double>();
  if (!(cpus >= 1 && cpus <= 1e6)) r.fail("machine.logical_cpus", fmt::format("{} is not a CPU count", cpus));
  out.logical_cpus = int(cpus);
  // Descriptive fields: read when present and well-typed (a baseline pooled
  // from results keeps them), never required.
  const auto text_or = [&](const char* key) {
    return machine.contains(key) && machine[key].is_string() ? machine[key].get<std::string>() : std::string();
  };
  out.hostname = text_or("hostname");
  out.label = text_or("label");
  out.kernel = text_or("kernel");
  out.governor = text_or("governor");
  out.clock_source = text_or("clock_source");
  // A count in [0, 2^53), or -1 (converting a wild double to an integer would be undefined).
  const auto count = [](const json& v) -> double {
    return v.is_number() && v.get<double>() >= 0 && v.get<double>() < 9e15 ? std::floor(v.get<double>()) : -1;
  };
  if (machine.contains("memory_bytes") && count(machine["memory_bytes"]) >= 0)
    out.memory_bytes = std::int64_t(count(machine["memory_bytes"]));
  if (machine.contains("load_avg") && machine["load_avg"].is_array())
    for (const auto& v : machine["load_avg"])
      if (v.is_number()) out.load_avg.push_back(v.get<double>());
  if (machine.contains("caches") && machine["caches"].is_array())
    for (const auto& c : machine["caches"]) {
      if (!c.is_object() || !c.value("type", json()).is_string()) continue;
      const double level = count(c.value("level", json())), size = count(c.value("size", json())),
                   sharing = count(c.value("num_sharing", json()));
      if (level >= 0 && level < 16 && size >= 0 && sharing >= 0 && sharing < 1e6)
        out.caches.push_back({c["type"].get<std::string>(), int(level), std::int64_t(size), int(sharing)});
    }
  if (machine.contains("calibration_score") && !machine["calibration_score"].is_null()) {
    Calibration c;
    c.score = r.field(machine, "machine", "calibration_score", json::value_t::number_float).get<double>();
    if (!(c.score > 0 && c.score < 1e6)) r.fail("machine.calibration_score", fmt::format("{} is not a score", c.score));
    if (machine.contains("calibration")) {
      const json& parts = r.field(machine, "machine", "calibration", json::value_t::object);
      const auto part = [&](const char* key) {
        return r.field(parts, "machine.calibration", key, json::value_t::number_float).get<double>();
      };
      c.channel_tokens_per_s = part("channel_tokens_per_s");
      c.memcpy_bytes_per_s = part("memcpy_bytes_per_s");
      c.loop_ops_per_s = part("loop_ops_per_s");
      c.spread = part("spread");
      if (parts.contains("raw_hop_short_tokens_per_s")) {  // since 0.9
        c.raw_hop_short_tokens_per_s = part("raw_hop_short_tokens_per_s");
        c.raw_hop_medium_tokens_per_s = part("raw_hop_medium_tokens_per_s");
      }
      if (parts.contains("foreign_cpu_share") && !parts["foreign_cpu_share"].is_null()) c.foreign_cpu_share = part("foreign_cpu_share");
    }
    out.calibration = c;
  }
  return out;
}

Repetition read_repetition(const Reader& r, const json& rep_json, const std::string& rep_at) {
  const json& metrics = r.field(rep_json, rep_at, "metrics", json::value_t::object);
  Repetition rep;
  for (const auto& [name, value] : metrics.items()) {
    if (!value.is_number()) r.fail(fmt::format("{}.metrics.{}", rep_at, name), "expected a number");
    rep.metrics.set(name, value.get<double>());
  }
  rep.latency_spectrum = r.rows<SpectrumLine>(rep_json, rep_at, "latency_spectrum", [&](const json& row, const std::string& where) {
    return SpectrumLine{r.number(row, where, 0), r.number(row, where, 1), std::int64_t(r.number(row, where, 2))};
  });
  rep.rss_timeline = r.rows<RssPoint>(rep_json, rep_at, "rss_timeline", [&](const json& row, const std::string& where) {
    return RssPoint{r.number(row, where, 0), std::int64_t(r.number(row, where, 1))};
  });
  if (rep_json.contains("latency_histogram")) {
    const std::string where = rep_at + ".latency_histogram";
    const json& h = rep_json["latency_histogram"];
    if (!h.is_string()) r.fail(where, "expected HdrHistogram's compressed form, a string \"HISTF…\"");
    std::string why;
    const auto histogram = decode_histogram(h.get<std::string>(), &why);
    if (!histogram) r.fail(where, why);
    rep.latency_histogram = h.get<std::string>();
    // A compact file (a baseline) keeps the histogram alone: its spectrum is derived again.
    if (rep.latency_spectrum.empty()) rep.latency_spectrum = spectrum_lines(*histogram);
  }
  if (rep_json.contains("streams")) rep.streams = read_streams(r, rep_json["streams"], rep_at + ".streams");
  return rep;
}

ScenarioResult read_scenario(const Reader& r, const json& scenario, const std::string& at) {
  ScenarioResult s;
  read_config(r, scenario, at, s.scenario);
  s.scenario.name = r.text(scenario, at, "name");
  s.passed = r.field(scenario, at, "passed", json::value_t::boolean).get<bool>();
  if (scenario.contains("sweep")) {
    const json& sweep = r.field(scenario, at, "sweep", json::value_t::object);
    for (const auto& [field, value] : sweep.items()) {
      if (!value.is_string()) r.fail(fmt::format("{}.sweep.{}", at, field), "expected a string");
      s.sweep.emplace_back(field, value.get<std::string>());
    }
  }
  const json& reps = r.field(scenario, at, "repetitions", json::value_t::array);
  for (std::size_t k = 0; k < reps.size(); ++k) {
    const std::string rep_at = fmt::format("{}.repetitions[{}]", at, k);
    s.repetitions.push_back(read_repetition(r, reps[k], rep_at));
  }
  if (scenario.contains("disturbed_reruns")) {
    const json& reruns = r.field(scenario, at, "disturbed_reruns", json::value_t::array);
    for (std::size_t k = 0; k < reruns.size(); ++k) {
      if (!reruns[k].is_number()) r.fail(fmt::format("{}.disturbed_reruns[{}]", at, k), "expected a number");
      s.disturbed_reruns.push_back(reruns[k].get<double>());
    }
  }
  if (scenario.contains("stage_counters")) {
    const json& counters = r.field(scenario, at, "stage_counters", json::value_t::object);
    for (const auto& [name, info] : counters.items()) {
      const std::string where = fmt::format("{}.stage_counters.{}", at, name);
      if (!info.is_object()) r.fail(where, "expected an object {\"unit\": ..., \"better\": ...}");
      CounterInfo c;
      if (info.contains("unit") && info["unit"].is_string()) c.unit = info["unit"].get<std::string>();
      const std::string better = info.contains("better") && info["better"].is_string() ? info["better"].get<std::string>() : "";
      if (better == "higher") c.better = Better::higher;
      else if (better == "lower") c.better = Better::lower;
      else if (better != "neither") r.fail(where + ".better", "expected \"higher\", \"lower\" or \"neither\"");
      s.counters[name] = c;
    }
  }
  s.summary = summarize(s.repetitions);  // derived, so recomputed rather than trusted
  s.thresholds = evaluate_thresholds(s.scenario.expect, s.repetitions);
  if (scenario.contains("failure") && scenario["failure"].is_string())
    s.failure = scenario["failure"].get<std::string>();
  return s;
}

}  // namespace

RunResults results_from_json_text(const std::string& text, const std::string& source) {
  json root;
  try {
    root = parse_bounded(text, source);
  } catch (const json::parse_error& e) {
    throw ResultsError(fmt::format("{}: not valid JSON (byte {}): truncated or not a results file", source, e.byte));
  } catch (const json::exception& e) {  // e.g. a number too large for a double (found by fuzzing)
    throw ResultsError(fmt::format("{}: not a results file: {}", source, e.what()));
  }
  const Reader r(source);
  RunResults out;
  out.schema = r.text(root, "", "schema");
  if (out.schema != "aiway-stress/results/v1")
    r.fail("schema", fmt::format("\"{}\" is not a schema this version reads (aiway-stress/results/v1)", out.schema));
  out.tool = read_tool(r, root);
  out.machine = read_machine(r, root);
  if (root.contains("method") && root["method"].is_object()) {  // absent in files before 0.2
    const json& method = root["method"];
    const double processes = r.field(method, "method", "processes", json::value_t::number_float).get<double>();
    if (!(processes >= 1 && processes <= 1e6)) r.fail("method.processes", fmt::format("{} is not a process count", processes));
    out.method.processes = std::uint32_t(processes);
    out.method.interleave = r.field(method, "method", "interleave", json::value_t::boolean).get<bool>();
  }
  out.started_at = r.text(root, "", "started_at");
  out.interrupted = r.field(root, "", "interrupted", json::value_t::boolean).get<bool>();
  if (root.contains("planned_repetitions") && root["planned_repetitions"].is_number_unsigned())
    out.planned_repetitions = root["planned_repetitions"].get<std::uint64_t>();
  out.passed = r.field(root, "", "passed", json::value_t::boolean).get<bool>();
  const json& scenarios = r.field(root, "", "scenarios", json::value_t::array);
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const std::string at = fmt::format("scenarios[{}]", i);
    ScenarioResult s = read_scenario(r, scenarios[i], at);
    // One scenario (one sweep combination) once: two results of one name
    // would be compared, pooled and merged as if they were one.
    for (std::size_t k = 0; k < out.scenarios.size(); ++k)
      if (out.scenarios[k].scenario.name == s.scenario.name && out.scenarios[k].sweep == s.sweep)
        r.fail(at, fmt::format("scenario {} appears twice (also scenarios[{}])", s.scenario.name, k));
    out.scenarios.push_back(std::move(s));
  }
  return out;
}

RunResults load_results_file(const std::string& path) {
  std::string text;
  try {
    text = read_input_file(path, kMaxResultsBytes, "results file");
  } catch (const InputError& e) {
    throw ResultsError(e.what());
  }
  return results_from_json_text(text, path);
}

}  // namespace aiway
