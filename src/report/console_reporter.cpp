#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "compare/statistics.hpp"
#include "report/reporter.hpp"
#include "aiway/scenario_file.hpp"

namespace aiway {
namespace {

std::string grouped(double value) {
  const bool negative = value < 0;
  std::string digits = fmt::format("{:.0f}", std::fabs(value));
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(std::size_t(i), ",");
  return negative ? "-" + digits : digits;
}

std::string si(double value, const char* unit) {
  const double a = std::fabs(value);
  if (a >= 1e9) return fmt::format("{:.2f} G{}", value / 1e9, unit);
  if (a >= 1e6) return fmt::format("{:.2f} M{}", value / 1e6, unit);
  if (a >= 1e3) return fmt::format("{:.2f} k{}", value / 1e3, unit);
  return fmt::format("{:.0f} {}", value, unit);
}

std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0)); }

std::string duration_us(double us) {
  if (us >= 1e6) return fmt::format("{:.2f} s", us / 1e6);
  if (us >= 1e3) return fmt::format("{:.2f} ms", us / 1e3);
  return fmt::format("{:.1f} us", us);
}

// Formats a metric's median, with [min .. max] when repetitions disagree.
template <class Format>
std::string spread(const ScenarioResult& r, const std::string& name, Format format) {
  const MetricSummary* s = find_summary(r, name);
  if (!s || s->n == 0) return "n/a";
  if (s->n == 1 || s->min == s->max) return format(s->median);
  return fmt::format("{} [{} .. {}]", format(s->median), format(s->min), format(s->max));
}

std::string worst(const ScenarioResult& r, const std::string& name) {
  const MetricSummary* s = find_summary(r, name);
  return s ? grouped(s->max) : "n/a";
}

std::size_t count_nonzero(const ScenarioResult& r, const std::string& name) {
  return std::size_t(std::count_if(r.repetitions.begin(), r.repetitions.end(), [&](const Repetition& rep) {
    return rep.metrics.get(name).value_or(0) != 0;
  }));
}

std::string threshold_value(const ThresholdResult& t) {
  if (!t.value) return "not measured";
  const double v = *t.value;
  if (t.metric == "rss_growth_bytes") return mib(v);
  if (t.metric.ends_with("_us")) return duration_us(v);
  if (t.metric.ends_with("_share") || t.metric.ends_with("_ratio")) return fmt::format("{:.2f} %", v * 100);
  return grouped(v);
}

std::string threshold_limit(const ThresholdResult& t) {
  ThresholdResult limit = t;
  limit.value = t.limit;
  return threshold_value(limit);
}

// The value as printed beside its limit: never rounded onto the limit when it
// is not the limit (a failing 0.844 must not read "1" against ">= 1").
std::string threshold_value_beside_limit(const ThresholdResult& t) {
  std::string value = threshold_value(t);
  if (t.value && *t.value != t.limit && value == threshold_limit(t)) value = fmt::format("{:.9g}", *t.value);
  return value;
}


// The harness's own pipeline model: stages, channels, queues.
void print_model_results(const ScenarioResult& r, std::ostream& out) {
  const Scenario& s = r.scenario;
  out << fmt::format("Configuration: {} stream(s) x {} tokens, size {}, {}, channels {} ({}) / {} ({}), surface work {} us\n",
                     s.backend.streams, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s per stream") : std::string("flat out"),
                     grouped(double(s.channel.capacity)), to_string(s.channel.overflow),
                     grouped(double(s.surface_channel.capacity)), to_string(s.surface_channel.overflow), s.surface.work_us);
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (!r.repetitions.empty()) {
    const auto count = [](double v) { return grouped(v); };
    out << "Results:\n";
    // Every term of sent = delivered + dropped by policy + discarded + dropped by stage + unaccounted.
    out << fmt::format("  Tokens        sent {}  delivered {}  dropped by policy {}  discarded at quit {}  dropped by stage {}  "
                       "unaccounted {}\n",
                       spread(r, "tokens_sent", count), spread(r, "tokens_delivered", count),
                       spread(r, "dropped_by_policy", count), spread(r, "discarded_at_shutdown", count),
                       spread(r, "dropped_by_stage", count), spread(r, "lost_unaccounted", count));
    out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n",
                       worst(r, "duplicated"), worst(r, "reordered"), worst(r, "corrupted"));
    out << fmt::format("  Streams       completed {}  errors {}  commands planted {} executed {}\n",
                       spread(r, "streams_completed", count), spread(r, "stream_errors", count),
                       spread(r, "commands_planted", count), spread(r, "commands_executed", count));
    out << fmt::format("  Duration      {}\n", spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
    out << fmt::format("  Throughput    {}   {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                       si(summary_median(r, "throughput_bytes_per_s"), "B/s"));
    if (find_summary(r, "latency_p99_us")) {
      out << fmt::format("  Latency       p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                         duration_us(summary_median(r, "latency_p50_us")), duration_us(summary_median(r, "latency_p90_us")),
                         spread(r, "latency_p99_us", duration_us), duration_us(summary_median(r, "latency_p999_us")),
                         duration_us(summary_median(r, "latency_max_us")));
      out << fmt::format("                uncorrected p99 {}  hop1 p99 {}  hop2 p99 {}  TTFT {}  inter-token p99 {}\n",
                         duration_us(summary_median(r, "latency_uncorrected_p99_us")), duration_us(summary_median(r, "hop1_p99_us")),
                         duration_us(summary_median(r, "hop2_p99_us")), duration_us(summary_median(r, "ttft_us")),
                         duration_us(summary_median(r, "itl_p99_us")));
    }
    if (find_summary(r, "stream_tps_median")) {
      // The worst stream of the median repetition would be arbitrary: name the worst of the last one.
      const auto worst_stream = r.repetitions.back().metrics.get("worst_stream");
      out << fmt::format("  Fairness      per-stream throughput min {} median {} max {}, Jain index {:.3f}; "
                         "per-stream p99 median {} max {} (stream {} in the last repetition)\n",
                         si(summary_median(r, "stream_tps_min"), "tokens/s"), si(summary_median(r, "stream_tps_median"), "tokens/s"),
                         si(summary_median(r, "stream_tps_max"), "tokens/s"), summary_median(r, "fairness_jain"),
                         duration_us(summary_median(r, "stream_p99_median_us")), duration_us(summary_median(r, "stream_p99_max_us")),
                         worst_stream ? fmt::format("{:.0f}", *worst_stream) : "?");
    }
    if (find_summary(r, "quit_latency_us"))
      out << fmt::format("  Quit          {}\n", spread(r, "quit_latency_us", duration_us));
    if (find_summary(r, "shutdown_lost") && worst(r, "shutdown_lost") != "0")
      out << fmt::format("  Quit          ShuttingDown was dropped by the full surface channel in {} of {} repetitions: "
                         "the surface never heard of the quit\n",
                         count_nonzero(r, "shutdown_lost"), r.repetitions.size());
    // Growth is measured from the scenario's baseline, so that is what is printed beside it.
    out << fmt::format("  Memory        RSS baseline {}  peak {}  growth (peak - baseline) {}   before {}  end {}\n",
                       mib(summary_median(r, "rss_baseline_bytes")), mib(summary_median(r, "rss_peak_bytes")),
                       spread(r, "rss_growth_bytes", mib), mib(summary_median(r, "rss_before_bytes")),
                       mib(summary_median(r, "rss_end_bytes")));
    out << fmt::format("  CPU           share {} of {}  (backend {:.3f} s, conductor {:.3f} s, surface {:.3f} s; ctx switches {} / {})\n",
                       spread(r, "cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                       "all cores", summary_median(r, "cpu_backend_s"), summary_median(r, "cpu_conductor_s"),
                       summary_median(r, "cpu_surface_s"), grouped(summary_median(r, "ctx_switches_voluntary")),
                       grouped(summary_median(r, "ctx_switches_involuntary")));
    if (find_summary(r, "foreign_cpu_share"))
      out << fmt::format("                other work on the machine {}{}\n",
                         spread(r, "foreign_cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                         r.disturbed_reruns.empty() ? ""
                                                    : fmt::format("  ({} disturbed repetitions discarded and taken again)",
                                                                  r.disturbed_reruns.size()));
    out << fmt::format("  Queues        token channel max {} mean {:.0f}, surface channel max {} mean {:.0f}, producer blocked {:.3f} s\n",
                       grouped(summary_median(r, "channel_max_depth")), summary_median(r, "channel_mean_depth"),
                       grouped(summary_median(r, "surface_channel_max_depth")), summary_median(r, "surface_channel_mean_depth"),
                       summary_median(r, "producer_blocked_s"));
  }
}

// A conductor process driven over its socket.
void print_target_results(const ScenarioResult& r, std::ostream& out) {
  const Scenario& s = r.scenario;
  const auto count = [](double v) { return grouped(v); };
  const auto percent = [](double v) { return fmt::format("{:.1f} %", v * 100); };
  const std::vector<std::string>& command = s.target.started_command();
  out << fmt::format("Configuration: conductor target {}{}, {} surface(s); upstream answer {} tokens of {} bytes, {}\n",
                     !command.empty() ? fmt::format("`{}`", fmt::join(command, " ")) : "at " + s.target.socket,
                     s.target.legacy ? " --legacy" : "", s.target.surfaces, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s") : std::string("as fast as the conductor reads"));
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (r.repetitions.empty()) return;
  out << "Results:\n";
  out << fmt::format("  Tokens        sent {}  delivered {} (all surfaces)  missing {}  unaccounted {}  loss {}\n",
                     spread(r, "tokens_sent", count), spread(r, "tokens_delivered", count),
                     spread(r, "missing_at_surface", count), spread(r, "lost_unaccounted", count), spread(r, "loss_ratio", percent));
  out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n", worst(r, "duplicated"),
                     worst(r, "reordered"), worst(r, "corrupted"));
  out << fmt::format("  Ends          StreamEnd lost {}  State Ready lost {}  abandoned {}  stream errors {}  (worst repetition)\n",
                     worst(r, "stream_end_lost"), worst(r, "state_ready_lost"), worst(r, "streams_abandoned"),
                     worst(r, "stream_errors"));
  out << fmt::format("  Protocol      errors {}  foreign acks {}  notifies {}  upstream write timeouts {}\n",
                     worst(r, "protocol_errors"), worst(r, "foreign_acks"), worst(r, "notifies"),
                     worst(r, "upstream_write_timeouts"));
  out << fmt::format("  Throughput    {}  over {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                     spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
  if (find_summary(r, "latency_p99_us"))
    out << fmt::format("  Latency       p50 {}  p99 {}  max {}  uncorrected p99 {}  TTFT {}  inter-token p99 {}\n",
                       duration_us(summary_median(r, "latency_p50_us")), spread(r, "latency_p99_us", duration_us),
                       duration_us(summary_median(r, "latency_max_us")), duration_us(summary_median(r, "latency_uncorrected_p99_us")),
                       duration_us(summary_median(r, "ttft_us")), duration_us(summary_median(r, "itl_p99_us")));
  if (find_summary(r, "quit_latency_us")) out << fmt::format("  Quit          {}\n", spread(r, "quit_latency_us", duration_us));
  if (find_summary(r, "shutdown_lost") && worst(r, "shutdown_lost") != "0")
    out << fmt::format("  Quit          ShuttingDown never came in {} of {} repetitions\n", count_nonzero(r, "shutdown_lost"),
                       r.repetitions.size());
  out << fmt::format("  Target        CPU share {} ({} s){}  RSS before {} peak {} end {}{}\n", spread(r, "target_cpu_share", percent),
                     plain_number(summary_median(r, "target_cpu_s")),
                     find_summary(r, "target_idle_cpu_share") ? fmt::format("  idle {}", spread(r, "target_idle_cpu_share", percent)) : "",
                     mib(summary_median(r, "target_rss_before_bytes")), mib(summary_median(r, "target_rss_peak_bytes")),
                     mib(summary_median(r, "target_rss_end_bytes")),
                     find_summary(r, "target_exit") ? fmt::format("  exit {}", spread(r, "target_exit", count)) : "");
  out << fmt::format("  Harness       CPU share {}  other work on the machine {}\n", spread(r, "cpu_share", percent),
                     spread(r, "foreign_cpu_share", percent));
}

// The streams worth a look in one repetition: those that did not end done or
// missed an objective, worst first, at most `limit`.
void print_stream_exceptions(const Repetition& rep, std::size_t limit, std::ostream& out) {
  std::vector<const StreamRecord*> odd;
  for (const StreamRecord& s : rep.streams)
    if (!s.good) odd.push_back(&s);
  if (odd.empty()) return;
  std::stable_sort(odd.begin(), odd.end(), [](const auto* a, const auto* b) { return a->end != "done" && b->end == "done"; });
  out << fmt::format("  Streams not good ({} of {}; the first {} shown):\n", odd.size(), rep.streams.size(), std::min(limit, odd.size()));
  for (std::size_t i = 0; i < odd.size() && i < limit; ++i) {
    const StreamRecord& s = *odd[i];
    const auto us = [](double v) { return v < 0 ? std::string("-") : duration_us(v); };
    out << fmt::format("    #{:<5} {}{}  tokens {}/{}  TTFT {}  ITL p99 {} max {}  e2e {}  chunks {} of {}\n", s.index, s.end,
                       s.detail.empty() ? "" : fmt::format(" ({})", s.detail), grouped(s.delivered), grouped(s.tokens_sent),
                       us(s.ttft_us), us(s.itl_p99_us), us(s.itl_max_us), us(s.e2e_us), grouped(s.chunks), grouped(s.chunks_upstream));
  }
}

void print_http_results(const ScenarioResult& r, std::ostream& out) {
  const Scenario& s = r.scenario;
  const auto count = [](double v) { return grouped(v); };
  const auto percent = [](double v) { return fmt::format("{:.1f} %", v * 100); };
  const bool started = s.starts_proxy();
  out << fmt::format("Configuration: HTTP target {} {}; {} stream(s) x {} tokens of {} bytes, {}{}\n", s.target.url,
                     started ? fmt::format("through `{}`", fmt::join(s.target.started_command(), " ")) : std::string("(direct)"),
                     s.backend.streams, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s") + " per stream" : std::string("as fast as read"),
                     s.target.shard.empty() ? "" : fmt::format("; shard {}", s.target.shard));
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (r.repetitions.empty()) return;
  out << "Results:\n";
  out << fmt::format("  Tokens        sent {}  delivered {}  missing {}  unaccounted {}  loss {}\n", spread(r, "tokens_sent", count),
                     spread(r, "tokens_delivered", count), spread(r, "missing_at_surface", count),
                     spread(r, "lost_unaccounted", count), spread(r, "loss_ratio", percent));
  out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n", worst(r, "duplicated"),
                     worst(r, "reordered"), worst(r, "corrupted"));
  out << fmt::format("  Streams       done {}  truncated {}  HTTP errors {}  refused {}  timed out {}  malformed {}  "
                     "upstream errors {}  unfinished {}  (worst repetition)\n",
                     spread(r, "streams_completed", count), worst(r, "truncated_streams"), worst(r, "http_errors"),
                     worst(r, "connect_errors"), worst(r, "stream_timeouts"), worst(r, "malformed_streams"),
                     worst(r, "stream_errors"), worst(r, "streams_unfinished"));
  out << fmt::format("  Goodput       {} of streams met every [slo] objective, {} streams/s\n", spread(r, "goodput_ratio", percent),
                     plain_number(summary_median(r, "goodput_streams_per_s")));
  out << fmt::format("  Throughput    {}  over {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                     spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
  if (find_summary(r, "latency_p99_us"))
    out << fmt::format("  Token latency p50 {}  p99 {}  max {}  uncorrected p99 {}  (upstream's schedule to the client)\n",
                       duration_us(summary_median(r, "latency_p50_us")), spread(r, "latency_p99_us", duration_us),
                       duration_us(summary_median(r, "latency_max_us")), duration_us(summary_median(r, "latency_uncorrected_p99_us")));
  const auto over_streams = [&](const char* label, const char* p50, const char* p90, const char* p99, const char* max) {
    if (!find_summary(r, p50)) return;
    out << fmt::format("  {:<13} p50 {}  p90 {}  p99 {}  max {}  (over streams)\n", label, duration_us(summary_median(r, p50)),
                       p90 ? duration_us(summary_median(r, p90)) : std::string("-"), duration_us(summary_median(r, p99)),
                       max ? duration_us(summary_median(r, max)) : std::string("-"));
  };
  over_streams("TTFT", "ttft_us", "ttft_p90_us", "ttft_p99_us", "ttft_max_us");
  over_streams("End to end", "e2e_p50_us", "e2e_p90_us", "e2e_p99_us", "e2e_max_us");
  over_streams("Per token", "tpot_p50_us", nullptr, "tpot_p99_us", nullptr);
  if (find_summary(r, "itl_p99_us"))
    out << fmt::format("  Inter-token   p99 {} (median stream)  {} (worst stream)  longest gap {}\n",
                       duration_us(summary_median(r, "itl_p99_us")), duration_us(summary_median(r, "itl_p99_worst_us")),
                       duration_us(summary_median(r, "itl_max_us")));
  out << fmt::format("  Chunks        upstream {}  downstream {}  coalescing {}  {} body bytes per token\n",
                     spread(r, "chunks_upstream", count), spread(r, "chunks_downstream", count),
                     plain_number(summary_median(r, "coalescing_ratio")), plain_number(summary_median(r, "wire_bytes_per_token")));
  if (find_summary(r, "target_cpu_share"))
    out << fmt::format("  Target        CPU share {} ({} s)  RSS before {} peak {} end {}\n", spread(r, "target_cpu_share", percent),
                       plain_number(summary_median(r, "target_cpu_s")), mib(summary_median(r, "target_rss_before_bytes")),
                       mib(summary_median(r, "target_rss_peak_bytes")), mib(summary_median(r, "target_rss_end_bytes")));
  out << fmt::format("  Harness       CPU share {}  latest request {} after its start  other work on the machine {}\n",
                     spread(r, "cpu_share", percent), duration_us(summary_median(r, "start_lag_max_us")),
                     spread(r, "foreign_cpu_share", percent));
  print_stream_exceptions(r.repetitions.back(), 10, out);
}

}  // namespace

void print_scenario(const ScenarioResult& r, const ConsoleStyle& style, std::ostream& out) {
  const auto paint = [&](const std::string& text, const char* code) {
    return style.color ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : text;
  };
  const Scenario& s = r.scenario;
  out << fmt::format("\n=== Stress Test Results: {} ===\n", s.name);
  if (!s.description.empty()) out << fmt::format("  {}\n", s.description);
  if (s.target.kind == TargetKind::aiway) print_target_results(r, out);
  else if (s.target.kind == TargetKind::http) print_http_results(r, out);
  else print_model_results(r, out);
  if (!r.repetitions.empty()) {
    if (style.verbose) {
      out << "  Per repetition:\n";
      for (std::size_t i = 0; i < r.repetitions.size(); ++i) {
        const Metrics& m = r.repetitions[i].metrics;
        const auto value = [&](const char* name, auto&& format) {
          const auto v = m.get(name);
          return v ? format(*v) : std::string("-");
        };
        out << fmt::format("    {:>3}  throughput {}  p99 {}  CPU {}  RSS growth {}  other work {}\n", i + 1,
                           value("throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                           value("latency_p99_us", duration_us),
                           value("cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                           value("rss_growth_bytes", mib),
                           value("foreign_cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }));
      }
    }
    if (style.spectrum) {
      for (std::size_t i = 0; i < r.repetitions.size(); ++i) {
        out << fmt::format("  Latency spectrum, repetition {} (end-to-end, corrected; microseconds):\n", i + 1);
        out << fmt::format("{:>14} {:>16} {:>12} {:>16}\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
        for (const auto& line : r.repetitions[i].latency_spectrum) {
          const std::string inverse = line.percentile < 1.0 ? fmt::format("{:.2f}", 1.0 / (1.0 - line.percentile)) : "inf";
          out << fmt::format("{:14.3f} {:16.12f} {:12} {:>16}\n", line.value_us, line.percentile, line.total_count, inverse);
        }
      }
    }
  }
  for (const auto& name : unstable_headline_metrics(r)) {
    const MetricSummary* s = find_summary(r, name);
    out << paint(fmt::format("  WARNING: {} is unstable (CV {:.1f} %, min {}, median {}, max {}): "
                             "more repetitions or a quieter machine\n", name, s->cv * 100, plain_number(s->min),
                             plain_number(s->median), plain_number(s->max)), "33");
  }
  if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
    out << paint(fmt::format("  WARNING: {}: a comparison will call its changes inconclusive\n", d), "33");
  if (!r.failure.empty()) out << paint(fmt::format("  RUN FAILED: {}\n", r.failure), "1;31");
  if (!r.thresholds.empty()) out << "Thresholds:\n";
  for (const auto& t : r.thresholds) {
    out << fmt::format("  {}  {} {} {} ({} {})\n", t.passed ? paint("PASS", "32") : paint("FAIL", "1;31"), t.metric, t.op,
                       threshold_limit(t), t.aggregate, threshold_value_beside_limit(t));
  }
  out << (r.passed ? paint("Passed.", "32") : paint("FAILED.", "1;31")) << "\n";
}

void print_run_summary(const RunResults& results, const ConsoleStyle& style, std::ostream& out) {
  auto paint = [&](const std::string& text, bool ok) {
    return style.color ? fmt::format("\x1b[{}m{}\x1b[0m", ok ? "32" : "1;31", text) : text;
  };
  std::size_t width = 8;
  for (const auto& r : results.scenarios) width = std::max(width, r.scenario.name.size());
  // An unpaced scenario's throughput beside one raw hop of tokens of the same
  // size on this machine: the median of its repetitions' own ratios when each
  // measured a hop right before it (measure.raw_hop), else against the hop the
  // run's calibration measured once (the seed's 10- and 100-byte tokens only).
  // A paced one's throughput is its pace, not a ratio.
  const std::optional<Calibration>& calibration = results.machine.calibration;
  const double raw_hop = calibration ? calibration->raw_hop_short_tokens_per_s : 0;
  bool per_repetition = false;
  for (const auto& r : results.scenarios) per_repetition |= find_summary(r, "raw_hop_ratio") != nullptr;
  const auto vs_hop = [&](const ScenarioResult& r) {
    if (raw_hop <= 0 && !per_repetition) return std::string();
    if (const MetricSummary* own = find_summary(r, "raw_hop_ratio")) return fmt::format("  {:>6.2f}x", own->median);
    const std::uint32_t size = r.scenario.backend.size;
    const double hop = raw_hop <= 0 || !r.scenario.unpaced_model() ? 0
                       : size == 10                                ? calibration->raw_hop_short_tokens_per_s
                       : size == 100                               ? calibration->raw_hop_medium_tokens_per_s
                                                                   : 0;
    return hop > 0 ? fmt::format("  {:>6.2f}x{}", summary_median(r, "throughput_tps") / hop, per_repetition ? "*" : "")
                   : fmt::format("  {:>7}", "-");
  };
  out << fmt::format("\n{:<{}}  {:<6}  {:>10}{}  {:>9}  {:>6}  {:>10}  {}\n", "scenario", width, "result", "tokens/s",
                     raw_hop > 0 || per_repetition ? "  raw hop" : "", "p99", "CPU", "RSS growth", "marks");
  std::vector<std::string> failed;
  for (const auto& r : results.scenarios) {
    std::vector<std::string> marks;
    if (!r.failure.empty()) marks.push_back("run failed");
    const Disturbance d = disturbance_of(r);
    if (d.disturbed > 0) marks.push_back(fmt::format("disturbed {}/{}", d.disturbed, d.repetitions));
    if (d.reruns > 0) marks.push_back(fmt::format("{} re-run{}", d.reruns, d.reruns == 1 ? "" : "s"));
    for (const auto& name : unstable_headline_metrics(r)) marks.push_back("unstable " + name);
    if (!r.passed) failed.push_back(r.scenario.name);
    out << fmt::format("{:<{}}  {:<6}  {:>10}{}  {:>9}  {:>5.1f}%  {:>10}  {}\n", r.scenario.name, width,
                       paint(r.passed ? "pass" : "FAIL", r.passed), plain_number(summary_median(r, "throughput_tps")),
                       vs_hop(r),
                       fmt::format("{:.2f} ms", summary_median(r, "latency_p99_us") / 1e3),
                       summary_median(r, "cpu_share") * 100,
                       fmt::format("{:.1f} MiB", summary_median(r, "rss_growth_bytes") / (1024.0 * 1024.0)),
                       fmt::join(marks, ", "));
  }
  if (per_repetition)
    out << "raw hop: throughput / one raw moodycamel hop of the same tokens measured right before each repetition, "
           "median of the repetitions' ratios\n";
  if (raw_hop > 0)
    out << fmt::format("{}: throughput / one raw moodycamel hop of tokens of the same size, measured once by this "
                       "run's calibration ({:.2f} M tokens/s of 10 bytes, {:.2f} M of 100)\n",
                       per_repetition ? "raw hop marked *" : "raw hop", raw_hop / 1e6,
                       calibration->raw_hop_medium_tokens_per_s / 1e6);
  const std::size_t n = results.scenarios.size();
  std::string outcome;
  if (results.interrupted) outcome = fmt::format("Interrupted: {}.", describe_interrupted(results));
  else if (failed.empty()) outcome = fmt::format("All {} scenarios passed.", n);
  else outcome = fmt::format("{} of {} scenarios FAILED: {}.", failed.size(), n, fmt::join(failed, ", "));
  out << "\n" << paint(outcome, failed.empty() && !results.interrupted) << "\n";
}

}  // namespace aiway
