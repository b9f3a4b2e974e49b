#include "targets/model/model_target.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <optional>

#include "compare/statistics.hpp"
#include "files/scratch_folder.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/histogram_encoding.hpp"
#include "measure/process_stats.hpp"
#include "measure/resource_sampler.hpp"
#include "pipeline/pipeline.hpp"
#include "results/derived_metrics.hpp"
#include "stages/resolve.hpp"
#include "targets/process/child_process.hpp"

namespace aiway {
namespace {

constexpr std::int64_t kWatchdogTickNs = 20'000'000;
// measure.raw_hop: as many tokens as the scenario moves, up to this many
// (enough for a stable rate, short next to a repetition).
constexpr std::uint64_t kRawHopTokens = 1'000'000;

double us(std::int64_t ns) { return double(ns) / 1e3; }

// measure.raw_hop, timed by this executable's `calibrate --raw-hop` in a
// process of its own: in this one, its queue and its tokens' text would reach
// the repetition's heap (trimmed after it, the trim also gives back what the
// warm-up left to the allocator; untrimmed, its pages count in RSS), and a
// fork write-protects this process's pages, so each would fault on its next
// write. posix_spawn copies no page tables.
// Absent when interrupted; throws std::runtime_error when it gives no figure.
std::optional<double> raw_hop_in_own_process(const Scenario& s, const std::atomic<bool>* interrupt) {
  const ScratchFolder dir;
  const auto out = dir.path() / "raw-hop.json";
  const std::uint64_t tokens = std::min<std::uint64_t>(s.total_tokens(), kRawHopTokens);
  const ProcessEnd end = run_process({own_executable().string(), "calibrate", "--raw-hop", std::to_string(s.backend.size),
                                      "--tokens", std::to_string(tokens), "--format", "json"},
                                     interrupt, out);
  if (interrupt && interrupt->load()) return std::nullopt;
  if (end.code != 0 || end.signal != 0) throw std::runtime_error(fmt::format("its process {}", end.describe()));
  std::ifstream in(out);
  const double rate = nlohmann::json::parse(in, nullptr, false).value("raw_hop_tokens_per_s", 0.0);
  if (!(rate > 0)) throw std::runtime_error("its process wrote no rate");
  return rate;
}

// The longest a healthy pipeline waits on purpose without any progress: a
// planned stall, the network hop's delay, the gap a paced schedule leaves
// between tokens (random arrivals: 20 mean gaps, a gap a healthy run exceeds
// with probability e^-20) and the batch window the backend sleeps at least.
double planned_wait_s(const Scenario& s) {
  double wait = (s.faults.surface_stall_ms + s.faults.backend_stall_ms) / 1e3;
  wait += (s.hop1.delay_us + s.hop1.jitter_us) / 1e6;
  if (s.backend.rate_tps > 0) {
    const double gap_s = 1 / (s.backend.rate_tps * s.backend.streams);
    wait += (s.backend.arrival == Arrival::constant ? 1 : 20) * gap_s + s.pipeline.batch_window_us / 1e6;
  }
  return wait;
}

// Names the stage that stopped, from where each one is.
std::string diagnose(const PipelineProgress& p) {
  std::string stage = "backend";
  if (!p.surface_done && p.surface_channel_depth > 0) stage = "surface";
  else if (!p.conductor_done && p.channel_depth > 0) stage = "conductor";
  return fmt::format(
      "{} stopped making progress (backend sent {}{}, conductor took {}{}, surface delivered {}{}; "
      "token channel depth {}, surface channel depth {})",
      stage, p.backend_sent, p.backend_done ? " and finished" : "", p.conductor_in,
      p.conductor_done ? " and finished" : "", p.surface_delivered, p.surface_done ? " and finished" : "",
      p.channel_depth, p.surface_channel_depth);
}

// Fairness between concurrent streams: each stream's throughput (its tokens
// over the time to its last one) and p99, their spread, Jain's index of the
// throughputs (1 = perfectly even, 1/n = one stream got everything), and the
// worst stream by p99.
void add_fairness(Metrics& m, const std::vector<StreamDelivery>& streams, std::int64_t start_ns) {
  if (streams.size() < 2) return;
  std::vector<double> tps, p99;
  double sum = 0, sum_sq = 0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const auto& d = streams[i];
    const double seconds = double(d.last_ns - start_ns) / 1e9;
    const double rate = d.delivered > 0 && seconds > 0 ? double(d.delivered) / seconds : 0;
    tps.push_back(rate);
    p99.push_back(us(d.latency_p99_ns));
    sum += rate;
    sum_sq += rate * rate;
    if (d.latency_p99_ns > streams[worst].latency_p99_ns) worst = i;
  }
  const auto [tps_min, tps_max] = std::minmax_element(tps.begin(), tps.end());
  const auto [p99_min, p99_max] = std::minmax_element(p99.begin(), p99.end());
  m.set("streams", double(streams.size()));
  m.set("stream_tps_min", *tps_min);
  m.set("stream_tps_median", median(tps));
  m.set("stream_tps_max", *tps_max);
  m.set("stream_p99_min_us", *p99_min);
  m.set("stream_p99_median_us", median(p99));
  m.set("stream_p99_max_us", *p99_max);
  m.set("fairness_jain", sum_sq > 0 ? sum * sum / (double(streams.size()) * sum_sq) : 1);
  m.set("worst_stream", double(worst));
}

// The books: every token sent is delivered, dropped by a policy or a stage,
// discarded after a quit, or lost unaccounted; and how streams ended.
void set_token_books(const Scenario& s, const Pipeline& p, Metrics& m) {
  const auto& b = p.backend();
  const auto& c = p.conductor();
  const auto& f = p.surface();
  const auto& ch1 = p.channel();
  const auto& ch2 = p.surface_channel();
  const double sent = double(b.tokens_sent);
  const double delivered = double(f.delivered);
  const double dropped = double(ch1.dropped_data + ch2.dropped_data);
  const double discarded = double(c.discarded_at_shutdown + f.discarded_at_shutdown);
  m.set("tokens_sent", sent);
  m.set("tokens_delivered", delivered);
  m.set("bytes_sent", double(b.bytes_sent));
  m.set("bytes_delivered", double(f.bytes_delivered));
  m.set("dropped_by_policy", dropped);
  m.set("dropped_other_by_policy", double(ch1.dropped_other + ch2.dropped_other));
  m.set("discarded_at_shutdown", discarded);
  // A stage that keeps fewer tokens than it gets (a filter, a lossy stage
  // under test) is counted by its driver, so what it drops is accounted for.
  const double dropped_by_stage = double(c.dropped_by_stage);
  m.set("dropped_by_stage", dropped_by_stage);
  m.set("lost_unaccounted", sent - delivered - dropped - discarded - dropped_by_stage);
  // Lost = dropped by a policy or a stage, or gone unaccounted; tokens
  // discarded after a quit are not lost, they were abandoned on purpose.
  m.set("loss_ratio", sent > 0 ? (sent - delivered - discarded) / sent : 0);
  m.set("missing_at_surface", double(f.missing));
  m.set("duplicated", double(f.duplicated));
  m.set("reordered", double(f.reordered));
  m.set("corrupted", double(f.corrupted));
  if (canaries_for(s.faults).any()) {
    const PlantedFaults& planted = p.planted();
    m.set("planted_drops", double(planted.drops));
    m.set("planted_duplicates", double(planted.duplicates));
    m.set("planted_reorders", double(planted.reorders));
    m.set("planted_corruptions", double(planted.corruptions));
  }
  m.set("stream_errors", double(f.stream_errors));
  m.set("streams_disconnected", double(c.streams_disconnected));
  if (s.faults.second_request_at) {
    m.set("responses_cancelled", double(c.responses_cancelled));
    m.set("responses_cancelled_seen", double(f.responses_cancelled));
  }
  m.set("streams_completed", double(f.streams_completed));
  m.set("commands_planted", double(b.commands_planted));
  m.set("commands_executed", double(c.commands_executed));
  m.set("commands_displayed", double(f.commands_displayed));
}

void set_throughput_and_latency(const Scenario& s, const Pipeline& p, Metrics& m) {
  const auto& b = p.backend();
  const auto& f = p.surface();
  const auto& lat = p.latencies();
  const double delivered = double(f.delivered);
  // Wall time: the first token generated (the request) to the last item the surface processed.
  const std::int64_t end_ns = std::max(f.last_item_ns, b.start_ns);
  const double wall_s = double(end_ns - b.start_ns) / 1e9;
  m.set("wall_s", wall_s);
  m.set("throughput_tps", wall_s > 0 ? delivered / wall_s : 0);
  m.set("throughput_bytes_per_s", wall_s > 0 ? double(f.bytes_delivered) / wall_s : 0);

  if (s.measure.latency && lat.end_to_end.count() > 0) {
    set_token_latency_metrics(lat.end_to_end, m);
    m.set("latency_uncorrected_p99_us", us(lat.uncorrected.value_at_percentile(99)));
    m.set("hop1_p99_us", us(lat.hop1.value_at_percentile(99)));
    m.set("hop2_p99_us", us(lat.hop2.value_at_percentile(99)));
    if (lat.first_token.count() > 0) m.set("ttft_us", us(lat.first_token.value_at_percentile(50)));
    if (lat.inter_token.count() > 0) m.set("itl_p99_us", us(lat.inter_token.value_at_percentile(99)));
  }
  if (s.backend.rate_tps > 0) {
    m.set("producer_lag_max_us", us(b.producer_lag_max_ns));
    m.set("backend_wakeups", double(b.wakeups));
  }
  if (lat.frame_time.count() > 0) m.set("frame_time_p99_us", us(lat.frame_time.value_at_percentile(99)));
  add_fairness(m, p.streams(), b.start_ns);
}

struct MemoryReadings {
  std::int64_t baseline = 0, before = 0, end = 0;  // RSS: the scenario's baseline, before and after the repetition
};

void set_resources(const Pipeline& p, const SamplerReport& sampled, const MemoryReadings& rss, const CpuUsage& usage,
                   Metrics& m) {
  const auto& b = p.backend();
  const auto& c = p.conductor();
  const auto& f = p.surface();
  const std::int64_t rss_baseline = rss.baseline, rss_before = rss.before, rss_end = rss.end;
  const std::int64_t peak = std::max({sampled.rss_peak_bytes, rss_before, rss_baseline});
  m.set("rss_baseline_bytes", double(rss_baseline));
  m.set("rss_before_bytes", double(rss_before));
  m.set("rss_peak_bytes", double(peak));
  m.set("rss_end_bytes", double(rss_end));
  m.set("rss_growth_bytes", double(peak - rss_baseline));
  m.set("rss_samples", double(sampled.samples));
  m.set("transcript_bytes", double(c.transcript_bytes));
  m.set("retained_bytes", double(c.transcript_bytes + f.retained_bytes));

  m.set("cpu_seconds", usage.cpu_s);
  m.set("cpu_share", usage.share(usage.cpu_s));
  m.set("cpu_backend_s", b.usage.cpu_s);
  m.set("cpu_conductor_s", c.usage.cpu_s);
  m.set("cpu_surface_s", f.usage.cpu_s);
  // Everything but this process that kept the CPUs busy: other processes,
  // kernel threads, a hypervisor's steal. On a machine shared with other work
  // this is what makes a repetition slow without the build being slower.
  if (usage.foreign_share) m.set("foreign_cpu_share", *usage.foreign_share);
  m.set("ctx_switches_voluntary", double(usage.ctx_voluntary));
  m.set("ctx_switches_involuntary", double(usage.ctx_involuntary));
  if (allocation_counting_active()) {
    // The stage threads' C++ heap allocations during the repetition, per delivered token.
    const auto& ab = b.usage.allocations;
    const auto& ac = c.usage.allocations;
    const auto& af = f.usage.allocations;
    const double per = f.delivered > 0 ? 1.0 / double(f.delivered) : 0.0;
    m.set("allocs_per_token", double(ab.allocations + ac.allocations + af.allocations) * per);
    m.set("alloc_bytes_per_token", double(ab.bytes + ac.bytes + af.bytes) * per);
    m.set("allocs_backend", double(ab.allocations));
    m.set("allocs_conductor", double(ac.allocations));
    m.set("allocs_surface", double(af.allocations));
  }
}

// Quitting, and how full the channels ran.
void set_control_and_channels(const Scenario& s, const Pipeline& p, const SamplerReport& sampled, Metrics& m) {
  const auto& c = p.conductor();
  const auto& f = p.surface();
  const auto& ch1 = p.channel();
  const auto& ch2 = p.surface_channel();
  const std::int64_t quit_requested = p.control().quit_requested_ns.load();
  if (quit_requested > 0 && f.shutting_down_seen_ns > 0) m.set("quit_latency_us", us(f.shutting_down_seen_ns - quit_requested));
  if (s.control.shutdown_path == ControlPath::in_band && quit_requested > 0) {
    // The surface never heard of the quit: the lossy channel dropped ShuttingDown.
    m.set("shutdown_lost", c.shutdown_dropped ? 1 : 0);
  }
  m.set("channel_max_depth", double(ch1.max_depth));
  m.set("channel_mean_depth", sampled.gauges.size() > 0 ? sampled.gauges[0].mean : 0);
  m.set("surface_channel_max_depth", double(ch2.max_depth));
  m.set("surface_channel_mean_depth", sampled.gauges.size() > 1 ? sampled.gauges[1].mean : 0);
  m.set("producer_blocked_s", double(ch1.blocked_ns) / 1e9);
  m.set("conductor_blocked_s", double(ch2.blocked_ns) / 1e9);
  m.set("frames_rendered", double(f.frames_rendered));
}

Metrics collect_metrics(const Scenario& s, const Pipeline& p, const SamplerReport& sampled, const MemoryReadings& rss,
                        const CpuUsage& usage) {
  Metrics m;
  set_token_books(s, p, m);
  set_throughput_and_latency(s, p, m);
  set_resources(p, sampled, rss, usage, m);
  set_control_and_channels(s, p, sampled, m);
  return m;
}

// Waits for the pipeline to finish, watching it: a timeout, a stage that
// stops making progress (beyond what the scenario plans to wait) or an
// interrupt ends the repetition. Returns the failure ("" when none).
std::string watch(const Scenario& s, Pipeline& pipeline, std::int64_t t0, const std::atomic<bool>* interrupt,
                  bool& interrupted) {
  const std::int64_t deadline = t0 + std::int64_t(s.timeout_s * 1e9);
  // Planned waits are not hangs: the watchdog gives them their time on top.
  const auto stall_ns = std::int64_t((s.stall_timeout_s + planned_wait_s(s) + pipeline.source_wait_s()) * 1e9);
  PipelineProgress last = pipeline.progress();
  std::int64_t last_change = t0;
  while (!pipeline.wait_until(std::min(deadline, monotonic_ns() + kWatchdogTickNs))) {
    const std::int64_t now = monotonic_ns();
    if (interrupt && interrupt->load()) {
      interrupted = true;
      return "";
    }
    if (now >= deadline) return fmt::format("timeout after {} s: {}", s.timeout_s, diagnose(pipeline.progress()));
    const PipelineProgress p = pipeline.progress();
    if (p.backend_sent != last.backend_sent || p.conductor_in != last.conductor_in ||
        p.surface_delivered != last.surface_delivered || p.backend_done != last.backend_done ||
        p.conductor_done != last.conductor_done) {
      last = p;
      last_change = now;
    } else if (now - last_change >= stall_ns) {
      return fmt::format("no progress for {} s: {}", s.stall_timeout_s, diagnose(p));
    }
  }
  return "";
}

// Each stage's own counters, named by role, with what they declared.
void add_stage_counters(const Pipeline& pipeline, RepetitionOutcome& out) {
  for (const auto& [role, counters] : {std::pair{"backend", &pipeline.backend().counters},
                                       std::pair{"conductor", &pipeline.conductor().counters},
                                       std::pair{"surface", &pipeline.surface().counters}})
    for (const StageCounter& counter : *counters) {
      const std::string name = fmt::format("{}.{}", role, counter.name);
      out.repetition.metrics.set(name, counter.value);
      out.counters[name] = CounterInfo{counter.unit, counter.better};
    }
}

}  // namespace

RepetitionOutcome ModelTarget::run_repetition(const Scenario& s, const RepetitionContext& context) const {
  RepetitionOutcome out;
  std::optional<double> raw_hop_tps;
  if (s.measure.raw_hop && s.unpaced_model()) {
    try {
      raw_hop_tps = raw_hop_in_own_process(s, context.interrupt);
    } catch (const std::exception& e) {
      out.failure = fmt::format("measure.raw_hop: {}", e.what());
      return out;
    }
    if (!raw_hop_tps) {
      out.interrupted = true;
      return out;
    }
  }
  StageSet stages;
  try {
    stages = make_stages(s);
  } catch (const std::exception& e) {  // a user's stage that cannot be built fails the repetition, not the process
    out.failure = fmt::format("building the stages ({} / {} / {}): {}", s.backend.impl, s.conductor.impl, s.surface.impl, e.what());
    return out;
  }
  Pipeline pipeline(s, context.clock, std::move(stages));
  MemoryReadings rss{context.rss_baseline, rss_bytes(), 0};
  const CpuWindow cpu_window;
  const std::int64_t t0 = monotonic_ns();
  ResourceSampler sampler(s.measure.sample_interval_ms, pipeline.depth_gauges());
  sampler.start();
  pipeline.start();
  out.failure = watch(s, pipeline, t0, context.interrupt, out.interrupted);
  if (!out.failure.empty() || out.interrupted) pipeline.abort();
  if (const std::string failed = pipeline.stage_failure(); !failed.empty() && out.failure.empty())
    out.failure = fmt::format("a stage failed and the pipeline stopped: {}", failed);

  const SamplerReport sampled = sampler.stop();
  const CpuUsage usage = cpu_window.close(kMinForeignWindowS);
  rss.end = rss_bytes();
  out.repetition.metrics = collect_metrics(s, pipeline, sampled, rss, usage);
  if (raw_hop_tps) {
    out.repetition.metrics.set("raw_hop_tps", *raw_hop_tps);
    out.repetition.metrics.set("raw_hop_ratio", out.repetition.metrics.get("throughput_tps").value_or(0) / *raw_hop_tps);
  }
  add_stage_counters(pipeline, out);
  if (s.measure.latency) {
    out.repetition.latency_spectrum = spectrum_lines(pipeline.latencies().end_to_end);
    out.repetition.latency_histogram = encode_histogram(pipeline.latencies().end_to_end);
  }
  for (const auto& point : sampled.rss_timeline) out.repetition.rss_timeline.push_back({point.t_s, point.rss_bytes});
  return out;
}

std::vector<std::string> ModelTarget::unoptimized_stages(const Scenario& s) const { return aiway::unoptimized_stages(s); }

}  // namespace aiway
