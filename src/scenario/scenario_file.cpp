#include "aiway/scenario_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>
#include <toml++/toml.h>

#include "files/input_file.hpp"
#include "net/stream_api.hpp"
#include "net/url.hpp"
#include "scenario/spelling.hpp"

namespace aiway {
namespace {

struct Range {
  double min;
  double max;
};

constexpr double kMaxTokens = 1e10;         // per scenario, all streams together
constexpr double kMaxHttpTokens = 2e7;      // 8 bytes of receive time each: 160 MB
constexpr double kMaxMessageSize = 16 << 20;  // generator size class, bytes
constexpr double kMaxRate = 2e7;            // tokens/s: 50 ns apart is the finest a clock paces here
constexpr double kMaxCapacity = 1e7;

// The names of every choice field's values, as files spell them.
template <class T>
struct Choices;
template <>
struct Choices<Overflow> {
  static constexpr std::pair<Overflow, std::string_view> values[] = {
      {Overflow::block, "block"}, {Overflow::drop_newest, "drop-newest"}, {Overflow::drop_oldest, "drop-oldest"}};
};
template <>
struct Choices<Arrival> {
  static constexpr std::pair<Arrival, std::string_view> values[] = {
      {Arrival::constant, "constant"}, {Arrival::poisson, "poisson"}, {Arrival::gamma, "gamma"}};
};
template <>
struct Choices<Rewrap> {
  static constexpr std::pair<Rewrap, std::string_view> values[] = {{Rewrap::incremental, "incremental"},
                                                                   {Rewrap::full, "full"}};
};
template <>
struct Choices<ControlPath> {
  static constexpr std::pair<ControlPath, std::string_view> values[] = {{ControlPath::separate, "separate"},
                                                                        {ControlPath::in_band, "in-band"}};
};
template <>
struct Choices<ChannelImpl> {
  static constexpr std::pair<ChannelImpl, std::string_view> values[] = {
      {ChannelImpl::ring, "ring"}, {ChannelImpl::moodycamel, "moodycamel"}, {ChannelImpl::mutex, "mutex"}};
};
template <>
struct Choices<TargetKind> {
  static constexpr std::pair<TargetKind, std::string_view> values[] = {{TargetKind::model, "model"},
                                                                       {TargetKind::aiway, "aiway"},
                                                                       {TargetKind::http, "http"}};
};
template <>
struct Choices<Greeting> {
  static constexpr std::pair<Greeting, std::string_view> values[] = {{Greeting::handshake, "handshake"},
                                                                     {Greeting::connected, "connected"}};
};
template <class T, class = void>
constexpr bool is_choice = false;
template <class T>
constexpr bool is_choice<T, std::void_t<decltype(Choices<T>::values)>> = true;

template <class T>
std::string_view choice_name(T value) {
  for (const auto& [v, name] : Choices<T>::values)
    if (v == value) return name;
  return "?";
}

// The one list of scenario fields: parsing, --set, show and the results JSON all
// walk it, so a new field is added here and nowhere else.
template <class S, class Visitor>
void visit_fields(S& s, Visitor&& v) {
  v("", "name", s.name, Range{});
  v("", "description", s.description, Range{});
  v("", "repetitions", s.repetitions, Range{1, 1000});
  v("", "warmup", s.warmup, Range{0, 100});
  v("", "timeout_s", s.timeout_s, Range{0.001, 86400});
  v("", "stall_timeout_s", s.stall_timeout_s, Range{0.05, 86400});

  v("backend", "impl", s.backend.impl, Range{});
  v("backend", "trace", s.backend.trace, Range{});
  v("backend", "streams", s.backend.streams, Range{1, 4096});
  v("backend", "messages", s.backend.messages, Range{1, kMaxTokens});
  v("backend", "size", s.backend.size, Range{1, kMaxMessageSize});
  v("backend", "rate_tps", s.backend.rate_tps, Range{0, kMaxRate});
  v("backend", "commands", s.backend.commands, Range{0, 1e6});
  v("backend", "split_commands", s.backend.split_commands, Range{});
  v("backend", "arrival", s.backend.arrival, Range{});
  v("backend", "burstiness", s.backend.burstiness, Range{0.01, 100});
  v("backend", "seed", s.backend.seed, Range{0, 9e15});

  v("hop1", "delay_us", s.hop1.delay_us, Range{0, 1e7});
  v("hop1", "jitter_us", s.hop1.jitter_us, Range{0, 1e7});

  v("channel", "capacity", s.channel.capacity, Range{1, kMaxCapacity});
  v("channel", "overflow", s.channel.overflow, Range{});
  v("channel", "impl", s.channel.impl, Range{});
  v("surface_channel", "capacity", s.surface_channel.capacity, Range{1, kMaxCapacity});
  v("surface_channel", "overflow", s.surface_channel.overflow, Range{});
  v("surface_channel", "impl", s.surface_channel.impl, Range{});

  v("conductor", "impl", s.conductor.impl, Range{});
  v("conductor", "transcript_max_bytes", s.conductor.transcript_max_bytes, Range{0, double(1ull << 34)});
  v("conductor", "max_commands", s.conductor.max_commands, Range{0, 1e6});
  v("conductor", "extra_work_ns", s.conductor.extra_work_ns, Range{0, 1e7});
  v("conductor", "extra_work_instructions", s.conductor.extra_work_instructions, Range{0, 1e9});

  v("surface", "impl", s.surface.impl, Range{});
  v("surface", "work_us", s.surface.work_us, Range{0, 1e6});
  v("surface", "extra_work_ns", s.surface.extra_work_ns, Range{0, 1e7});
  v("surface", "extra_work_instructions", s.surface.extra_work_instructions, Range{0, 1e9});
  v("surface", "frame_rate_hz", s.surface.frame_rate_hz, Range{0, 1000});
  v("surface", "width", s.surface.width, Range{1, 1000});
  v("surface", "height", s.surface.height, Range{1, 1000});
  v("surface", "scrollback_lines", s.surface.scrollback_lines, Range{1, 1e6});
  v("surface", "rewrap", s.surface.rewrap, Range{});

  v("control", "quit_at", s.control.quit_at, Range{0, 1});
  v("control", "shutdown_path", s.control.shutdown_path, Range{});

  v("pipeline", "batch", s.pipeline.batch, Range{1, 65536});
  v("pipeline", "spin_us", s.pipeline.spin_us, Range{0, 1000});
  v("pipeline", "batch_window_us", s.pipeline.batch_window_us, Range{0, 1e6});

  v("faults", "error_at", s.faults.error_at, Range{0, kMaxTokens});
  v("faults", "second_request_at", s.faults.second_request_at, Range{0, kMaxTokens});
  v("faults", "disconnect_at", s.faults.disconnect_at, Range{0, kMaxTokens});
  v("faults", "backend_stall_at", s.faults.backend_stall_at, Range{0, kMaxTokens});
  v("faults", "backend_stall_ms", s.faults.backend_stall_ms, Range{0, 60000});
  v("faults", "surface_stall_at", s.faults.surface_stall_at, Range{0, kMaxTokens});
  v("faults", "surface_stall_ms", s.faults.surface_stall_ms, Range{0, 60000});
  v("faults", "surface_stop_at", s.faults.surface_stop_at, Range{0, kMaxTokens});
  v("faults", "channel_drop_every", s.faults.channel_drop_every, Range{0, kMaxTokens});
  v("faults", "channel_duplicate_every", s.faults.channel_duplicate_every, Range{0, kMaxTokens});
  v("faults", "channel_reorder_every", s.faults.channel_reorder_every, Range{0, kMaxTokens});
  v("faults", "channel_corrupt_every", s.faults.channel_corrupt_every, Range{0, kMaxTokens});

  v("measure", "latency", s.measure.latency, Range{});
  v("measure", "sample_interval_ms", s.measure.sample_interval_ms, Range{1, 10000});
  v("measure", "raw_hop", s.measure.raw_hop, Range{});
  v("measure", "max_foreign_cpu", s.measure.max_foreign_cpu, Range{0, 1});
  v("measure", "rerun_disturbed", s.measure.rerun_disturbed, Range{0, 100});
  v("measure", "max_memory_mib", s.measure.max_memory_mib, Range{1, 1e9});

  v("target", "kind", s.target.kind, Range{});
  v("target", "socket", s.target.socket, Range{});
  v("target", "command", s.target.command, Range{});
  v("target", "env", s.target.env, Range{});
  v("target", "legacy", s.target.legacy, Range{});
  v("target", "surfaces", s.target.surfaces, Range{1, 100});
  v("target", "askers", s.target.askers, Range{1, 100});
  v("target", "ask_every_ms", s.target.ask_every_ms, Range{0, 600000});
  v("target", "greeting", s.target.greeting, Range{});
  v("target", "start_timeout_ms", s.target.start_timeout_ms, Range{1, 600000});
  v("target", "end_timeout_ms", s.target.end_timeout_ms, Range{1, 600000});
  v("target", "idle_ms", s.target.idle_ms, Range{0, 600000});
  v("target", "quit_after_ms", s.target.quit_after_ms, Range{0, 600000});
  v("target", "write_timeout_ms", s.target.write_timeout_ms, Range{1, 600000});
  v("target", "bad_frame_first", s.target.bad_frame_first, Range{});
  v("target", "url", s.target.url, Range{});
  v("target", "config_template", s.target.config_template, Range{});
  v("target", "ramp_up_ms", s.target.ramp_up_ms, Range{0, 3.6e6});
  v("target", "start_rate", s.target.start_rate, Range{0, 1e6});
  v("target", "start_arrival", s.target.start_arrival, Range{});
  v("target", "max_concurrent", s.target.max_concurrent, Range{0, 65536});
  v("target", "stream_timeout_ms", s.target.stream_timeout_ms, Range{1, 3.6e6});
  v("target", "connect_timeout_ms", s.target.connect_timeout_ms, Range{1, 600000});
  v("target", "client_threads", s.target.client_threads, Range{1, 64});
  v("target", "stalled_streams", s.target.stalled_streams, Range{0, 1});
  v("target", "shard", s.target.shard, Range{});
  v("target", "start_at", s.target.start_at, Range{0, 1e11});
  v("target", "start_every_s", s.target.start_every_s, Range{0, 86400});

  v("upstream", "listen", s.upstream.listen, Range{});
  v("upstream", "headers_delay_ms", s.upstream.headers_delay_ms, Range{0, 600000});
  v("upstream", "first_token_delay_ms", s.upstream.first_token_delay_ms, Range{0, 600000});
  v("upstream", "tokens_per_chunk", s.upstream.tokens_per_chunk, Range{1, 1e6});
  v("upstream", "split_lines", s.upstream.split_lines, Range{});
  v("upstream", "split_utf8", s.upstream.split_utf8, Range{});
  v("upstream", "status", s.upstream.status, Range{100, 599});
  v("upstream", "error_line_at", s.upstream.error_line_at, Range{0, kMaxTokens});
  v("upstream", "reset_at", s.upstream.reset_at, Range{0, kMaxTokens});
  v("upstream", "eof_without_done", s.upstream.eof_without_done, Range{});
  v("upstream", "empty_answer", s.upstream.empty_answer, Range{});
  v("upstream", "write_timeout_ms", s.upstream.write_timeout_ms, Range{1, 600000});

  v("expect", "min_throughput_tps", s.expect.min_throughput_tps, Range{0, 1e12});
  v("expect", "max_latency_p99_ms", s.expect.max_latency_p99_ms, Range{0, 1e9});
  v("expect", "max_rss_growth_mib", s.expect.max_rss_growth_mib, Range{0, 1e9});
  v("expect", "max_cpu_share", s.expect.max_cpu_share, Range{0, 1});
  v("expect", "max_loss_ratio", s.expect.max_loss_ratio, Range{0, 1});
  v("expect", "max_quit_latency_ms", s.expect.max_quit_latency_ms, Range{0, 1e9});
  v("expect", "max_lost_unaccounted", s.expect.max_lost_unaccounted, Range{0, kMaxTokens});
  v("expect", "max_duplicated", s.expect.max_duplicated, Range{0, kMaxTokens});
  v("expect", "max_reordered", s.expect.max_reordered, Range{0, kMaxTokens});
  v("expect", "max_corrupted", s.expect.max_corrupted, Range{0, kMaxTokens});
  v("expect", "max_stream_end_lost", s.expect.max_stream_end_lost, Range{0, 1e6});
  v("expect", "max_state_ready_lost", s.expect.max_state_ready_lost, Range{0, 1e6});
  v("expect", "max_streams_abandoned", s.expect.max_streams_abandoned, Range{0, 1e6});
  v("expect", "max_protocol_errors", s.expect.max_protocol_errors, Range{0, 1e9});
  v("expect", "max_foreign_acks", s.expect.max_foreign_acks, Range{0, 1e9});
  v("expect", "max_events_unacked", s.expect.max_events_unacked, Range{0, 1e9});
  v("expect", "max_target_cpu_share", s.expect.max_target_cpu_share, Range{0, 1});
  v("expect", "max_target_idle_cpu_share", s.expect.max_target_idle_cpu_share, Range{0, 1});
  v("expect", "max_target_idle_runnable_share", s.expect.max_target_idle_runnable_share, Range{0, 1});
  v("expect", "min_goodput_ratio", s.expect.min_goodput_ratio, Range{0, 1});
  v("expect", "max_streams_failed", s.expect.max_streams_failed, Range{0, 1e9});
  v("expect", "min_coalescing_ratio", s.expect.min_coalescing_ratio, Range{0, 1e9});
  v("expect", "detected_equals_planted", s.expect.detected_equals_planted, Range{});

  v("slo", "ttft_ms", s.slo.ttft_ms, Range{0, 1e9});
  v("slo", "itl_p99_ms", s.slo.itl_p99_ms, Range{0, 1e9});
  v("slo", "e2e_ms", s.slo.e2e_ms, Range{0, 1e9});

  // [compare]: a practical threshold per compared metric, from the metric table.
  for (std::size_t i = 0; i < kComparedMetrics.size(); ++i) v("compare", kComparedMetrics[i], s.compare.change[i], Range{0, 100});
  v("compare", "gating", s.compare.gating, Range{});
}

std::string dotted(std::string_view section, std::string_view key) {
  return section.empty() ? std::string(key) : fmt::format("{}.{}", section, key);
}

std::string where(const std::string& source, const toml::source_region& region) {
  if (region.begin.line == 0) return source;
  return fmt::format("{}:{}:{}", source, region.begin.line, region.begin.column);
}

[[noreturn]] void fail(const std::string& at, const std::string& field, const std::string& message) {
  throw ScenarioError(fmt::format("{}: {}: {}", at, field, message));
}

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return fmt::format("the string \"{}\"", *node.value<std::string>());
    case toml::node_type::integer: return fmt::format("the integer {}", *node.value<std::int64_t>());
    case toml::node_type::floating_point: return fmt::format("the number {}", *node.value<double>());
    case toml::node_type::boolean: return *node.value<bool>() ? "true" : "false";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

double number_in_range(const toml::node& node, Range range, bool integral, const std::string& at,
                       const std::string& field) {
  std::optional<double> value;
  if (node.is_integer()) value = double(*node.value<std::int64_t>());
  else if (node.is_floating_point()) {
    // 1e6 is a whole number written as TOML writes floats: taken where an
    // integer is expected when it is one exactly (within 2^53, every whole
    // double is exact).
    const double v = *node.value<double>();
    if (!integral || (std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 9007199254740992.0)) value = v;
  }
  const char* kind = integral ? "an integer" : "a number";
  if (!value) fail(at, field, fmt::format("expected {} from {} to {}, got {}", kind, range.min, range.max, describe(node)));
  if (!std::isfinite(*value) || *value < range.min || *value > range.max)
    fail(at, field, fmt::format("expected {} from {} to {}, got {}", kind, range.min, range.max, describe(node)));
  return *value;
}

// Sets the one field named section.key from a TOML node.
struct Assign {
  std::string_view section, key;
  const toml::node& node;
  const std::string& at;
  bool found = false;

  template <class T>
  void operator()(std::string_view s, std::string_view k, T& field, Range range) {
    if (s != section || k != key) return;
    found = true;
    const std::string name = dotted(s, k);
    if constexpr (std::is_same_v<T, std::string>) {
      if (!node.is_string()) fail(at, name, fmt::format("expected a string, got {}", describe(node)));
      field = *node.value<std::string>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>> ||
                         std::is_same_v<T, std::optional<std::vector<std::string>>>) {
      const toml::array* list = node.as_array();
      if (!list) fail(at, name, fmt::format("expected an array of strings, got {}", describe(node)));
      std::vector<std::string> items;
      for (const toml::node& item : *list) {
        if (!item.is_string()) fail(at, name, fmt::format("expected an array of strings, but an element is {}", describe(item)));
        items.push_back(*item.value<std::string>());
      }
      field = std::move(items);
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!node.is_boolean()) fail(at, name, fmt::format("expected true or false, got {}", describe(node)));
      field = *node.value<bool>();
    } else if constexpr (is_choice<T>) {
      const auto text = node.value<std::string>();
      std::string expected;
      for (const auto& [v, choice] : Choices<T>::values) {
        if (text && *text == choice) {
          field = v;
          return;
        }
        expected += fmt::format("{}\"{}\"", expected.empty() ? "" : ", ", choice);
      }
      fail(at, name, fmt::format("expected one of {}, got {}", expected, describe(node)));
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      field = number_in_range(node, range, false, at, name);
    } else if constexpr (std::is_floating_point_v<T>) {
      field = number_in_range(node, range, false, at, name);
    } else {
      field = static_cast<T>(number_in_range(node, range, true, at, name));
    }
  }
};

// The parameter table of a stage section ("conductor.params"), or null.
template <class S>
auto* params_of(S& s, std::string_view section) {
  if (section == "backend.params") return &s.backend.params;
  if (section == "conductor.params") return &s.conductor.params;
  if (section == "surface.params") return &s.surface.params;
  return static_cast<decltype(&s.backend.params)>(nullptr);
}

void assign(Scenario& s, std::string_view section, std::string_view key, const toml::node& node,
            const std::string& at) {
  if (ParamValues* params = params_of(s, section)) {
    // A stage's own parameter: typed as the file writes it here, checked
    // against what the stage declares when the scenario is resolved.
    const std::string name = dotted(section, key);
    if (key.empty()) fail(at, name, "a parameter needs a name");
    if (node.is_boolean()) (*params)[std::string(key)] = *node.value<bool>();
    else if (node.is_integer()) (*params)[std::string(key)] = *node.value<std::int64_t>();
    else if (node.is_floating_point()) (*params)[std::string(key)] = *node.value<double>();
    else if (node.is_string()) (*params)[std::string(key)] = *node.value<std::string>();
    else fail(at, name, fmt::format("expected true, false, a number or a string, got {}", describe(node)));
    s.origin[name] = at;
    return;
  }
  Assign assign{section, key, node, at};
  visit_fields(s, assign);
  if (!assign.found) {
    bool known_section = section.empty();
    std::vector<std::string> sections, keys;
    visit_fields(s, [&](std::string_view sec, std::string_view k, auto&, Range) {
      known_section |= sec == section;
      if (std::find(sections.begin(), sections.end(), sec) == sections.end()) sections.emplace_back(sec);
      if (sec == section) keys.emplace_back(k);
    });
    if (!known_section)
      throw ScenarioError(fmt::format("{}: unknown section [{}]{}", at, section, did_you_mean(section, sections)));
    const auto closest = closest_name(key, keys);  // judged on the key: the section is shared
    const std::string suggestion = closest ? fmt::format("; did you mean \"{}\"?", dotted(section, *closest)) : "";
    throw ScenarioError(fmt::format("{}: unknown key \"{}\"{}", at, dotted(section, key), suggestion));
  }
  s.origin[dotted(section, key)] = at;
}

const std::string& origin_of(const Scenario& s, const std::string& field) {
  static const std::string none = "(default)";
  auto it = s.origin.find(field);
  const std::string& at = it == s.origin.end() ? none : it->second;
  return at;
}

}  // namespace

std::string_view to_string(Overflow overflow) { return choice_name(overflow); }

bool is_workload_section(std::string_view section) {
  // What is sent through the system and what happens to it on the way in: two
  // results are comparable only when these agree. The stages' own settings
  // (channels, surface work, pipeline tuning) are what an A/B changes.
  // [upstream] is what a conductor target is fed; [target] names the
  // conductor, which is what comparing two conductors changes.
  return section == "backend" || section == "backend.params" || section == "hop1" || section == "control" ||
         section == "faults" || section == "upstream" || section == "slo";
}

Scenario parse_scenario(std::string_view text, const std::string& source) {
  if (text.find('\0') != std::string_view::npos)
    throw ScenarioError(fmt::format("{}: not a text file (it contains a NUL byte)", source));
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ScenarioError(fmt::format("{}: {}", where(source, e.source()), e.description()));
  }
  if (root.empty()) throw ScenarioError(fmt::format("{}: the scenario file is empty", source));

  Scenario s;
  for (const auto& [key, node] : root) {
    const std::string at = where(source, key.source());
    if (const toml::table* table = node.as_table()) {
      for (const auto& [sub_key, sub_node] : *table) {
        if (const toml::table* params = sub_node.as_table(); params && sub_key.str() == "params" &&
                                                                  params_of(s, fmt::format("{}.params", key.str()))) {
          for (const auto& [param, value] : *params) {
            if (value.is_table() || value.is_array())
              fail(where(source, param.source()), fmt::format("{}.params.{}", key.str(), param.str()),
                   fmt::format("expected true, false, a number or a string, got {}", describe(value)));
            assign(s, fmt::format("{}.params", key.str()), param.str(), value, where(source, param.source()));
          }
          continue;
        }
        if (sub_node.is_table())
          throw ScenarioError(fmt::format("{}: [{}.{}]: nested tables are not scenario fields",
                                          where(source, sub_key.source()), key.str(), sub_key.str()));
        assign(s, key.str(), sub_key.str(), sub_node, where(source, sub_key.source()));
      }
    } else {
      assign(s, "", key.str(), node, at);
    }
  }
  s.source = source;
  if (s.name.empty()) s.name = std::filesystem::path(source).stem().string();
  validate(s);
  return s;
}

Scenario load_scenario_file(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_input_file(file, 1 << 20, "scenario file");
  } catch (const InputError& e) {
    throw ScenarioError(e.what());  // one error type per loader: callers such as list catch it
  }
  return parse_scenario(text, file.string());
}

namespace {
void apply_override(Scenario& s, std::string_view assignment) {
  const std::string at = fmt::format("--set {}", assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw ScenarioError(fmt::format("{}: expected SECTION.KEY=VALUE", at));
  const std::string_view path = assignment.substr(0, eq);
  const std::string value(assignment.substr(eq + 1));
  const auto dot = path.find('.');
  std::string section(dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot));
  std::string_view key = dot == std::string_view::npos ? path : path.substr(dot + 1);
  if (key.starts_with("params.") && params_of(s, section + ".params")) {  // conductor.params.NAME=V
    section += ".params";
    key.remove_prefix(7);
  }

  // The value is read as a TOML value, so types are checked exactly as in a
  // file; a bare word (drop-newest) that is not TOML is taken as a string.
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed.insert_or_assign("v", value);
  }
  assign(s, section, key, *parsed.get("v"), at);
}
}  // namespace

void apply_overrides(Scenario& s, const std::vector<std::string>& assignments) {
  for (const auto& assignment : assignments) apply_override(s, assignment);
  validate(s);
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> parse_shard(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  unsigned k = 0, n = 0;
  const auto [k_end, k_ec] = std::from_chars(text.data(), text.data() + slash, k);
  const auto [n_end, n_ec] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), n);
  if (k_ec != std::errc() || n_ec != std::errc() || k_end != text.data() + slash || n_end != text.data() + text.size()) return std::nullopt;
  if (k < 1 || k > n) return std::nullopt;
  return std::pair{std::uint32_t(k), std::uint32_t(n)};
}

void validate(const Scenario& s) {
  // A cross-field error is reported where the file set one of the fields
  // involved: the field named first if it was set, else the one that was.
  auto check = [&](bool ok, const std::string& field, const std::string& message, const char* related = nullptr) {
    if (ok) return;
    const bool set = s.origin.count(field) > 0;
    fail(!set && related && s.origin.count(related) ? origin_of(s, related) : origin_of(s, field), field, message);
  };
  check(double(s.backend.messages) * s.backend.streams <= kMaxTokens, "backend.messages",
        fmt::format("streams x messages must be at most {:.0e} tokens", kMaxTokens));
  check(s.faults.error_at <= s.backend.messages, "faults.error_at",
        fmt::format("must be at most backend.messages ({})", s.backend.messages), "backend.messages");
  check(s.faults.surface_stall_at <= s.total_tokens(), "faults.surface_stall_at",
        fmt::format("must be at most the scenario's {} tokens", s.total_tokens()));
  check(s.faults.surface_stall_at == 0 || s.faults.surface_stall_ms > 0, "faults.surface_stall_ms",
        "must be positive when faults.surface_stall_at is set", "faults.surface_stall_at");
  check(s.faults.backend_stall_at == 0 || s.faults.backend_stall_ms > 0, "faults.backend_stall_ms",
        "must be positive when faults.backend_stall_at is set", "faults.backend_stall_at");
  for (const auto& [field, at] : {std::pair{"faults.second_request_at", s.faults.second_request_at},
                                  std::pair{"faults.disconnect_at", s.faults.disconnect_at},
                                  std::pair{"faults.backend_stall_at", s.faults.backend_stall_at},
                                  std::pair{"faults.surface_stop_at", s.faults.surface_stop_at}})
    check(at <= s.total_tokens(), field, fmt::format("must be at most the scenario's {} tokens", s.total_tokens()));
  const double grid_bytes = double(s.surface.scrollback_lines) * s.surface.width * s.backend.streams;
  check(grid_bytes <= double(1ull << 30), "surface.scrollback_lines",
        "scrollback_lines x width x streams must stay within 1 GiB");
  check(s.backend.commands <= s.backend.messages / 2, "backend.commands",
        fmt::format("at most one planted command per two tokens ({} here)", s.backend.messages / 2));
  const double rate = s.backend.rate_tps * s.backend.streams;
  check(s.backend.rate_tps == 0 || s.backend.rate_tps >= 0.001, "backend.rate_tps",
        "must be 0 (flat out) or at least 0.001 tokens/s");
  check(s.backend.arrival == Arrival::constant || s.backend.rate_tps > 0, "backend.arrival",
        "random arrivals need a rate: set backend.rate_tps", "backend.rate_tps");
  if (s.target.kind == TargetKind::aiway) {
    const std::string socket = s.target.socket.empty() ? "/tmp/aiway-stress-XXXXXX/conductor.sock" : s.target.socket;
    check(socket.size() <= 107, "target.socket",
          fmt::format("{} bytes: a Unix socket path holds at most 107", socket.size()));
    check(!s.target.started_command().empty() || !s.target.socket.empty(), "target.command",
          "an empty command connects to a running conductor: name its socket in target.socket");
    check(!s.target.legacy || s.target.started_command() == reference_conductor_command(), "target.legacy",
          "switches the reference conductor (the default target.command) to the real daemon's behaviours; a custom command cannot take it");
    check(s.target.askers <= s.target.surfaces, "target.askers", "at most target.surfaces: each asker is a surface",
          "target.surfaces");
    check(s.backend.streams == 1, "backend.streams", "a conductor target streams one answer at a time: 1");
    for (const auto& kv : s.target.env)
      check(kv.find('=') != std::string::npos && kv.front() != '=', "target.env",
            fmt::format("\"{}\" is not NAME=VALUE", kv));
  }
  if (s.target.kind != TargetKind::model) {
    // Both process targets are fed by the harness's upstream.
    const char* what = s.target.kind == TargetKind::aiway ? "a conductor target" : "an HTTP target";
    check(s.backend.impl == "mock", "backend.impl", fmt::format("{}'s tokens come from the harness's upstream: \"mock\"", what));
    check(s.backend.commands == 0, "backend.commands", fmt::format("{} does not plant [yolla:] commands: 0", what));
    check(net::parse_host_port(s.upstream.listen).has_value(), "upstream.listen",
          fmt::format("\"{}\" is not HOST:PORT (port 0: any free one)", s.upstream.listen));
    const FaultConfig none;
    check(s.faults.error_at == none.error_at && s.faults.second_request_at == none.second_request_at &&
              s.faults.disconnect_at == none.disconnect_at && s.faults.backend_stall_at == none.backend_stall_at &&
              s.faults.surface_stop_at == none.surface_stop_at && s.faults.channel_drop_every == 0 &&
              s.faults.channel_duplicate_every == 0 && s.faults.channel_reorder_every == 0 && s.faults.channel_corrupt_every == 0,
          "faults", fmt::format("{} takes only faults.surface_stall_at/_ms; the upstream's faults are in [upstream]", what));
  }
  if (s.target.kind == TargetKind::http) {
    std::string url = s.target.url;  // the placeholders stand for a host:port
    for (const std::string_view key : {"{upstream}", "{port}"})
      for (std::size_t at; (at = url.find(key)) != std::string::npos;)
        url.replace(at, key.size(), key == "{upstream}" ? "127.0.0.1:1" : "1");
    const auto parsed = net::parse_http_url(url);
    check(parsed.has_value(), "target.url", fmt::format("\"{}\" is not http://HOST:PORT/PATH", s.target.url));
    check(!parsed || net::stream_api_of(parsed->path).has_value(), "target.url",
          "the path must be /v1/chat/completions (SSE), /api/chat or /api/generate (NDJSON)");
    const bool started = s.starts_proxy();
    check(started || s.target.url.find("{port}") == std::string::npos, "target.url",
          "{port} is the port given to a started proxy: set target.command", "target.command");
    const std::vector<std::string>& command = s.target.started_command();
    check(s.target.config_template.empty() || (started && std::any_of(command.begin(), command.end(),
                                                                        [](const std::string& a) { return a.find("{config}") != std::string::npos; })),
          "target.config_template", "the written config reaches the proxy as {config} in target.command", "target.command");
    check(double(s.backend.messages) * s.backend.streams <= kMaxHttpTokens, "backend.messages",
          fmt::format("an HTTP target keeps a receive time per token: streams x messages at most {:.0e}", kMaxHttpTokens));
    check(s.target.start_rate == 0 || s.target.ramp_up_ms == 0, "target.start_rate",
          "streams start at start_rate or evenly over ramp_up_ms, not both", "target.ramp_up_ms");
    check(s.target.start_arrival == Arrival::constant || s.target.start_rate > 0, "target.start_arrival",
          "random stream starts need a rate: set target.start_rate", "target.start_rate");
    const auto shard = parse_shard(s.target.shard);
    check(s.target.shard.empty() || (shard && shard->second <= s.backend.streams), "target.shard",
          fmt::format("\"{}\" is not K/N with 1 <= K <= N <= backend.streams ({})", s.target.shard, s.backend.streams));
    check(s.target.start_at == 0 || s.warmup == 0, "warmup",
          "a common start time (target.start_at) is for measured repetitions: set warmup = 0", "target.start_at");
    check(s.target.start_at == 0 || s.repetitions == 1 || s.target.start_every_s > 0, "target.start_every_s",
          "several repetitions from a common start time need a period between them", "target.start_at");
  }
  check(rate <= kMaxRate, "backend.rate_tps",
        fmt::format("rate x streams must be at most {:.0e} tokens/s, the finest a clock paces here", kMaxRate));
}

std::vector<Field> scenario_fields(const Scenario& s) {
  std::vector<Field> fields;
  visit_fields(s, [&](std::string_view section, std::string_view key, const auto& field, Range) {
    using T = std::decay_t<decltype(field)>;
    FieldValue value;
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<std::string>>) value = field;
    else if constexpr (std::is_same_v<T, std::optional<std::vector<std::string>>>) { if (field) value = *field; }
    else if constexpr (std::is_same_v<T, bool>) value = field;
    else if constexpr (is_choice<T>) value = std::string(choice_name(field));
    else if constexpr (std::is_same_v<T, std::optional<double>>) { if (field) value = *field; }
    else if constexpr (std::is_floating_point_v<T>) value = field;
    else value = std::uint64_t(field);
    fields.push_back({std::string(section), std::string(key), std::move(value)});
  });
  // Each stage's own parameters, after the built-in fields.
  for (const char* section : {"backend.params", "conductor.params", "surface.params"})
    for (const auto& [key, value] : *params_of(s, section))
      fields.push_back({section, key, std::visit([](const auto& v) { return FieldValue(v); }, value)});
  return fields;
}

std::vector<ScenarioEntry> list_scenarios(const std::filesystem::path& dir) {
  std::vector<ScenarioEntry> entries;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".toml") continue;
    ScenarioEntry e{entry.path().stem().string(), "", entry.path()};
    try {
      const Scenario s = load_scenario_file(entry.path());
      e.name = s.name;
      e.description = s.description;
    } catch (const ScenarioError& error) {
      e.description = fmt::format("(invalid: {})", error.what());
    }
    entries.push_back(std::move(e));
  }
  if (ec) throw ScenarioError(fmt::format("{}: cannot list scenarios: {}", dir.string(), ec.message()));
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

std::filesystem::path resolve_scenario(const std::string& name_or_path, const std::filesystem::path& dir) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       std::filesystem::path(name_or_path).extension() == ".toml";
  if (is_path) return name_or_path;
  const auto file = dir / (name_or_path + ".toml");
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    std::vector<std::string> names;
    for (const auto& e : list_scenarios(dir)) names.push_back(e.name);
    throw ScenarioError(fmt::format("unknown scenario \"{}\"{} (scenarios in {}: {})", name_or_path,
                                    did_you_mean(name_or_path, names), dir.string(),
                                    names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
  }
  return file;
}

}  // namespace aiway
