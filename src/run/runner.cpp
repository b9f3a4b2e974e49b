#include "run/runner.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>

#include "compare/statistics.hpp"
#include "compare/thresholds.hpp"
#include "measure/allocation_counter.hpp"
#include "measure/histogram_encoding.hpp"
#include "measure/process_stats.hpp"
#include "measure/resource_sampler.hpp"
#include "pipeline/pipeline.hpp"
#include "run/worker_processes.hpp"
#include "stages/resolve.hpp"
#include "targets/target_run.hpp"
#include "results/derived_metrics.hpp"
#include "targets/http_run.hpp"

namespace aiway {
namespace {

constexpr std::int64_t kWatchdogTickNs = 20'000'000;
// Other work's CPU share is judged over at least this long: over a 10 ms
// repetition a 2 ms burst of kernel housekeeping would read as 10 %.
constexpr double kMinForeignWindowS = 0.1;
// measure.raw_hop: as many tokens as the scenario moves, up to this many
// (1m-short's million take 30 to 70 ms on a 2-CPU machine).
constexpr std::uint64_t kRawHopTokens = 1'000'000;

double us(std::int64_t ns) { return double(ns) / 1e3; }

// measure.raw_hop, timed by this executable's `calibrate --raw-hop` in a
// process of its own: in this one, its queue and its tokens' text reached the
// repetition's heap (trimmed after it, 1k-long moved 40 % fewer tokens: the
// trim gave back what the warm-up had left to the allocator; untrimmed, its
// pages count in RSS), and a fork write-protects this process's pages, so each
// would fault on its next write. posix_spawn copies no page tables.
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

Metrics collect_metrics(const Scenario& s, const Pipeline& p, const SamplerReport& sampled, std::int64_t rss_baseline,
                        std::int64_t rss_before, std::int64_t rss_end, const CpuUsage& usage) {
  const auto& b = p.backend();
  const auto& c = p.conductor();
  const auto& f = p.surface();
  const auto& ch1 = p.channel();
  const auto& ch2 = p.surface_channel();
  const auto& lat = p.latencies();
  Metrics m;
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

  const std::int64_t quit_requested = p.control().quit_requested_ns.load();
  if (quit_requested > 0 && f.shutting_down_seen_ns > 0) m.set("quit_latency_us", us(f.shutting_down_seen_ns - quit_requested));
  if (s.control.shutdown_path == ControlPath::in_band && quit_requested > 0) {
    // The surface never heard of the quit: the lossy channel dropped ShuttingDown.
    m.set("shutdown_lost", c.shutdown_dropped ? 1 : 0);
  }
  add_fairness(m, p.streams(), b.start_ns);


  m.set("channel_max_depth", double(ch1.max_depth));
  m.set("channel_mean_depth", sampled.gauges.size() > 0 ? sampled.gauges[0].mean : 0);
  m.set("surface_channel_max_depth", double(ch2.max_depth));
  m.set("surface_channel_mean_depth", sampled.gauges.size() > 1 ? sampled.gauges[1].mean : 0);
  m.set("producer_blocked_s", double(ch1.blocked_ns) / 1e9);
  m.set("conductor_blocked_s", double(ch2.blocked_ns) / 1e9);
  if (allocation_counting_active()) {
    // The stage threads' C++ heap allocations during the repetition, per delivered token.
    const auto& ab = b.usage.allocations;
    const auto& ac = c.usage.allocations;
    const auto& af = f.usage.allocations;
    const double per = delivered > 0 ? 1.0 / delivered : 0.0;
    m.set("allocs_per_token", double(ab.allocations + ac.allocations + af.allocations) * per);
    m.set("alloc_bytes_per_token", double(ab.bytes + ac.bytes + af.bytes) * per);
    m.set("allocs_backend", double(ab.allocations));
    m.set("allocs_conductor", double(ac.allocations));
    m.set("allocs_surface", double(af.allocations));
  }
  m.set("frames_rendered", double(f.frames_rendered));
  if (lat.frame_time.count() > 0) m.set("frame_time_p99_us", us(lat.frame_time.value_at_percentile(99)));
  return m;
}


struct RepetitionOutcome {
  Repetition repetition;
  std::map<std::string, CounterInfo> counters;  // the stages' own, declared
  std::string failure;
  bool interrupted = false;
};

// index: the measured repetition's number from 0 (an HTTP target's start
// time with target.start_at). rss_baseline: the process's RSS before the scenario's first (warm-up)
// repetition, taken from a trimmed heap. Growth is measured from it, so the
// heap stays warm across repetitions (no page faults mid-run that the warm-up
// had already paid) and memory a repetition keeps still counts.
RepetitionOutcome run_repetition(const Scenario& s, const Clock& clock, const RunOptions& options,
                                 std::int64_t rss_baseline, std::uint32_t index) {
  RepetitionOutcome out;
  if (s.target.kind != TargetKind::model) {
    TargetOutcome target = s.target.kind == TargetKind::aiway ? run_target_repetition(s, options.interrupt)
                                                               : run_http_repetition(s, index, options.interrupt);
    out.repetition = std::move(target.repetition);
    out.failure = std::move(target.failure);
    out.interrupted = target.interrupted;
    return out;
  }
  std::optional<double> raw_hop_tps;
  if (s.measure.raw_hop && s.unpaced_model()) {
    try {
      raw_hop_tps = raw_hop_in_own_process(s, options.interrupt);
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
  Pipeline pipeline(s, clock, std::move(stages));
  const std::int64_t rss_before = rss_bytes();
  const CpuWindow cpu_window;
  const std::int64_t t0 = monotonic_ns();
  ResourceSampler sampler(s.measure.sample_interval_ms, pipeline.depth_gauges());
  sampler.start();
  pipeline.start();

  const std::int64_t deadline = t0 + std::int64_t(s.timeout_s * 1e9);
  // Planned waits are not hangs: the watchdog gives them their time on top.
  const auto stall_ns = std::int64_t((s.stall_timeout_s + planned_wait_s(s) + pipeline.source_wait_s()) * 1e9);
  PipelineProgress last = pipeline.progress();
  std::int64_t last_change = t0;
  while (!pipeline.wait_until(std::min(deadline, monotonic_ns() + kWatchdogTickNs))) {
    const std::int64_t now = monotonic_ns();
    if (options.interrupt && options.interrupt->load()) {
      out.interrupted = true;
      break;
    }
    if (now >= deadline) {
      out.failure = fmt::format("timeout after {} s: {}", s.timeout_s, diagnose(pipeline.progress()));
      break;
    }
    const PipelineProgress p = pipeline.progress();
    if (p.backend_sent != last.backend_sent || p.conductor_in != last.conductor_in ||
        p.surface_delivered != last.surface_delivered || p.backend_done != last.backend_done ||
        p.conductor_done != last.conductor_done) {
      last = p;
      last_change = now;
    } else if (now - last_change >= stall_ns) {
      out.failure = fmt::format("no progress for {} s: {}", s.stall_timeout_s, diagnose(p));
      break;
    }
  }
  if (!out.failure.empty() || out.interrupted) pipeline.abort();
  if (const std::string failed = pipeline.stage_failure(); !failed.empty() && out.failure.empty())
    out.failure = fmt::format("a stage failed and the pipeline stopped: {}", failed);

  const SamplerReport sampled = sampler.stop();
  const CpuUsage usage = cpu_window.close(kMinForeignWindowS);
  const std::int64_t rss_end = rss_bytes();
  out.repetition.metrics = collect_metrics(s, pipeline, sampled, rss_baseline, rss_before, rss_end, usage);
  if (raw_hop_tps) {
    out.repetition.metrics.set("raw_hop_tps", *raw_hop_tps);
    out.repetition.metrics.set("raw_hop_ratio", out.repetition.metrics.get("throughput_tps").value_or(0) / *raw_hop_tps);
  }
  // Each stage's own counters, named by role, with what they declared.
  for (const auto& [role, counters] : {std::pair{"backend", &pipeline.backend().counters},
                                       std::pair{"conductor", &pipeline.conductor().counters},
                                       std::pair{"surface", &pipeline.surface().counters}})
    for (const StageCounter& counter : *counters) {
      const std::string name = fmt::format("{}.{}", role, counter.name);
      out.repetition.metrics.set(name, counter.value);
      out.counters[name] = CounterInfo{counter.unit, counter.better};
    }
  if (s.measure.latency) {
    out.repetition.latency_spectrum = spectrum_lines(pipeline.latencies().end_to_end);
    out.repetition.latency_histogram = encode_histogram(pipeline.latencies().end_to_end);
  }
  for (const auto& point : sampled.rss_timeline) out.repetition.rss_timeline.push_back({point.t_s, point.rss_bytes});
  return out;
}

}  // namespace

ScenarioRun::ScenarioRun(const Scenario& scenario, const Clock& clock, const RunOptions& options)
    : clock_(clock), options_(options), reruns_left_(scenario.measure.rerun_disturbed) {
  result_.scenario = scenario;
}

bool ScenarioRun::done() {
  // A stop request is honoured between repetitions too: repetitions shorter
  // than a watchdog tick never see it inside run_repetition.
  if (options_.interrupt && options_.interrupt->load()) interrupted_ = true;
  return !result_.failure.empty() || interrupted_ || result_.repetitions.size() >= result_.scenario.repetitions;
}

// Sequential runs take one RSS baseline per scenario and keep the heap warm
// across its repetitions. Interleaved runs cannot: other scenarios ran in
// between and left their freed memory, so each repetition trims and takes its
// own baseline (and pays its page faults again, as a cold start would).
void ScenarioRun::take_rss_baseline() {
  release_free_memory();
  rss_baseline_ = rss_bytes();
}

bool ScenarioRun::step(bool fresh_heap) {
  const Scenario& s = result_.scenario;
  const bool first = !started_;
  if (first || fresh_heap) take_rss_baseline();
  started_ = true;
  if (first) {
    for (std::uint32_t i = 0; i < s.warmup && !done(); ++i) repetition(true, i + 1);
    if (fresh_heap && s.warmup > 0) take_rss_baseline();
  }
  if (!done()) repetition(false, std::uint32_t(result_.repetitions.size()) + 1);
  return !done();
}

void ScenarioRun::repetition(bool warmup, std::uint32_t index) {
  const Scenario& s = result_.scenario;
  const std::uint32_t count = warmup ? s.warmup : s.repetitions;
  const auto reruns = std::uint32_t(result_.disturbed_reruns.size());
  if (options_.on_event) options_.on_event({RunEvent::Kind::repetition_started, s, index, count, warmup, nullptr, reruns});
  RepetitionOutcome outcome = run_repetition(s, clock_, options_, rss_baseline_, warmup ? 0 : index - 1);
  if (outcome.interrupted) {
    interrupted_ = true;
    return;
  }
  if (!outcome.failure.empty()) {
    result_.failure = fmt::format("{} {}: {}", warmup ? "warm-up" : "repetition", index, outcome.failure);
    return;
  }
  if (options_.on_event)
    options_.on_event({RunEvent::Kind::repetition_finished, s, index, count, warmup, &outcome.repetition, reruns});
  if (warmup) return;
  // A repetition bound to a common start time (a shard of a larger load) is
  // never re-run: a re-run starts late and the lateness lands in every
  // stream's TTFT. It is kept; its foreign_cpu_share marks it disturbed.
  const bool bound_to_common_start = s.target.start_at > 0;
  if (const auto share = disturbed_share(s, outcome.repetition); share && reruns_left_ > 0 && !bound_to_common_start) {
    // Taken again rather than averaged in: a gate must not read a busy machine as a slow build.
    --reruns_left_;
    result_.disturbed_reruns.push_back(*share);
    if (options_.on_event)
      options_.on_event({RunEvent::Kind::repetition_discarded, s, index, count, warmup, &outcome.repetition, reruns + 1});
    return;
  }
  for (auto& [name, info] : outcome.counters) result_.counters[name] = std::move(info);
  result_.repetitions.push_back(std::move(outcome.repetition));
}

ScenarioResult ScenarioRun::finish() && {
  finalize_result(result_, interrupted_);
  return std::move(result_);
}

void finalize_result(ScenarioResult& result, bool interrupted) {
  result.summary = summarize(result.repetitions);
  result.thresholds = evaluate_thresholds(result.scenario.expect, result.repetitions);
  result.passed = result.failure.empty() && !interrupted && !result.repetitions.empty() &&
                  std::all_of(result.thresholds.begin(), result.thresholds.end(), [](const auto& t) { return t.passed; });
}

ScenarioResult run_scenario(const Scenario& s, const Clock& clock, const RunOptions& options, bool& interrupted) {
  ScenarioRun run(s, clock, options);
  while (run.step(false)) {
  }
  interrupted |= run.interrupted();
  return std::move(run).finish();
}

}  // namespace aiway
