// The metric descriptors: every metric a repetition records, declared once.
// Collection, the results JSON, the comparison's defaults, the reporters that
// export to trackers, and the metric table in the docs all read this table,
// so a metric added here is added everywhere (and one missing here fails the
// tests).
#pragma once

#include <array>
#include <string_view>

namespace aiway {

// Which way a change is an improvement.
enum class Better { higher, lower, neither };

struct MetricDescriptor {
  std::string_view name;  // in the results: the unit is in the name
  std::string_view unit;  // for people: "tokens/s", "us", "bytes", "ratio", "count", "s", "instructions" (a count of work)
  Better better = Better::neither;
  // compare: the relative change that matters in practice (0.05 = 5 %);
  // 0: not compared.
  double threshold = 0;
  // compare: an absolute change below this never matters (allocator noise in RSS).
  double floor = 0;
  // A figure of speed: across machines it is normalised by the calibration
  // score (unless the scenario's schedule bounds it).
  bool speed = false;
  // Exported to benchmark trackers (OpenMetrics, in base units; "": not exported).
  std::string_view exported;
  double export_scale = 1;
  std::string_view description;
};

namespace metric_table {
constexpr Better up = Better::higher, down = Better::lower, none = Better::neither;
constexpr double MiB = 1024.0 * 1024.0;
}  // namespace metric_table

// In the order a repetition records them.
inline constexpr std::array kMetrics = [] {
  using namespace metric_table;
  return std::array<MetricDescriptor, 141>{{
      {"tokens_sent", "tokens", none, 0, 0, false, "", 1, "data tokens the backend handed to the token channel"},
      {"tokens_delivered", "tokens", up, 0, 0, false, "", 1, "data tokens the surface received once (duplicates excluded)"},
      {"bytes_sent", "bytes", none, 0, 0, false, "", 1, "clean payload bytes of the tokens sent"},
      {"bytes_delivered", "bytes", up, 0, 0, false, "", 1, "clean payload bytes of the tokens delivered"},
      {"dropped_by_policy", "tokens", down, 0, 0, false, "", 1, "data tokens a channel's overflow policy dropped, counted at the drop"},
      {"dropped_other_by_policy", "items", down, 0, 0, false, "", 1, "terminal items and commands a channel's overflow policy dropped"},
      {"discarded_at_shutdown", "tokens", none, 0, 0, false, "", 1, "data tokens still queued when quit arrived, abandoned on purpose"},
      {"dropped_by_stage", "tokens", down, 0, 0, false, "", 1, "data tokens the conductor stage was given and did not forward (a filtering or lossy stage), counted by its driver"},
      {"lost_unaccounted", "tokens", down, 0, 0, false, "aiway_lost_unaccounted_tokens", 1, "sent - delivered - dropped by policy - dropped by stage - discarded: anything but 0 is a bug"},
      {"loss_ratio", "ratio", down, 0.10, 0.001, false, "aiway_loss_ratio", 1, "(sent - delivered - discarded) / sent: dropped by a policy or a stage, or lost; tokens discarded after a quit are not loss"},
      {"missing_at_surface", "tokens", down, 0, 0, false, "", 1, "sequence numbers the surface never saw (a lost tail whose terminal was dropped too is invisible to it)"},
      {"duplicated", "tokens", down, 0, 0, false, "", 1, "data tokens the surface saw a second time (per-stream sequence check)"},
      {"reordered", "tokens", down, 0, 0, false, "", 1, "data tokens that arrived after a later one of their stream"},
      {"corrupted", "tokens", down, 0, 0, false, "", 1, "data tokens whose text does not hash to the clean text the backend generated"},
      {"planted_drops", "tokens", none, 0, 0, false, "", 1, "canaries: tokens the token channel dropped on purpose (only when [faults] plants them)"},
      {"planted_duplicates", "tokens", none, 0, 0, false, "", 1, "canaries: tokens the token channel duplicated on purpose"},
      {"planted_reorders", "tokens", none, 0, 0, false, "", 1, "canaries: tokens the token channel sent after their successor on purpose"},
      {"planted_corruptions", "tokens", none, 0, 0, false, "", 1, "canaries: tokens the token channel flipped a byte of on purpose"},
      {"stream_errors", "streams", down, 0, 0, false, "", 1, "streams the surface saw end with an error"},
      {"streams_disconnected", "streams", down, 0, 0, false, "", 1, "streams the conductor closed with a StreamError because the backend went away"},
      {"responses_cancelled", "responses", none, 0, 0, false, "", 1, "faults.second_request_at only: open responses cancelled when the second request came"},
      {"responses_cancelled_seen", "responses", none, 0, 0, false, "", 1, "faults.second_request_at only: the cancellations the surface saw (equal when nothing was lost)"},
      {"streams_completed", "streams", up, 0, 0, false, "", 1, "streams the surface saw end normally"},
      {"commands_planted", "commands", none, 0, 0, false, "", 1, "[yolla:...] commands the backend wrote into the text"},
      {"commands_executed", "commands", none, 0, 0, false, "", 1, "commands the conductor stage emitted to the surface"},
      {"commands_displayed", "commands", none, 0, 0, false, "", 1, "commands the surface received"},
      {"wall_s", "s", down, 0, 0, false, "", 1, "request (first token generated) to the last item the surface processed"},
      {"throughput_tps", "tokens/s", up, 0.05, 0, true, "aiway_throughput_tokens_per_second", 1, "delivered tokens / wall_s"},
      {"throughput_bytes_per_s", "bytes/s", up, 0.05, 0, true, "aiway_throughput_bytes_per_second", 1, "delivered payload bytes / wall_s"},
      {"latency_p50_us", "us", down, 0.10, 0, true, "aiway_latency_p50_seconds", 1e-6, "end-to-end latency from the intended send time, median"},
      {"latency_p90_us", "us", down, 0, 0, true, "", 1, "end-to-end latency from the intended send time, 90th percentile"},
      {"latency_p99_us", "us", down, 0.10, 0, true, "aiway_latency_p99_seconds", 1e-6, "end-to-end latency from the intended send time, 99th percentile"},
      {"latency_p999_us", "us", down, 0.20, 0, true, "", 1, "end-to-end latency from the intended send time, 99.9th percentile"},
      {"latency_max_us", "us", down, 0, 0, true, "", 1, "end-to-end latency from the intended send time, maximum"},
      {"latency_mean_us", "us", down, 0, 0, true, "", 1, "end-to-end latency from the intended send time, mean"},
      {"latency_uncorrected_p99_us", "us", down, 0, 0, true, "", 1, "end-to-end latency from the actual send time, 99th percentile (what coordinated omission hides)"},
      {"hop1_p99_us", "us", down, 0.10, 0, true, "", 1, "send to conductor dequeue, 99th percentile"},
      {"hop2_p99_us", "us", down, 0.10, 0, true, "", 1, "conductor dequeue to surface delivery, 99th percentile"},
      {"ttft_us", "us", down, 0.10, 0, true, "", 1, "first token at the surface after the request (HTTP targets: after the stream's due start), median over streams"},
      {"itl_p99_us", "us", down, 0, 0, true, "", 1, "gap between consecutive tokens of a stream, 99th percentile (tokens delivered in one batch have a gap of 0); HTTP targets: the median over streams of each stream's"},
      {"producer_lag_max_us", "us", down, 0, 0, false, "", 1, "paced backends only: how far the send fell behind the schedule"},
      {"backend_wakeups", "count", down, 0, 0, false, "", 1, "paced backends only: how often the backend slept and woke (about run time / pipeline.batch_window_us)"},
      {"rss_baseline_bytes", "bytes", none, 0, 0, false, "", 1, "RSS before the scenario's first (warm-up) repetition, after the allocator returned free memory: growth is measured from it"},
      {"rss_before_bytes", "bytes", none, 0, 0, false, "", 1, "RSS before this repetition"},
      {"rss_peak_bytes", "bytes", down, 0, 0, false, "", 1, "peak RSS of the repetition (the sampler's reads and VmHWM, reset per repetition)"},
      {"rss_end_bytes", "bytes", none, 0, 0, false, "", 1, "RSS after this repetition"},
      {"rss_growth_bytes", "bytes", down, 0.10, 16 * MiB, false, "aiway_rss_growth_bytes", 1, "peak - baseline: what a repetition holds, or leaks"},
      {"rss_samples", "count", none, 0, 0, false, "", 1, "RSS reads the sampler took"},
      {"transcript_bytes", "bytes", none, 0, 0, false, "", 1, "what the conductor stage retains at the end (ai-way's: its transcript)"},
      {"retained_bytes", "bytes", down, 0, 0, false, "", 1, "what the conductor and surface stages retain at the end (transcript + scrollback cells in use)"},
      {"cpu_seconds", "s", down, 0, 0, false, "", 1, "process user + system time over the repetition"},
      {"cpu_share", "ratio", down, 0.10, 0, false, "aiway_cpu_share_ratio", 1, "cpu_seconds / (elapsed x logical CPUs)"},
      {"cpu_backend_s", "s", down, 0, 0, true, "", 1, "the backend thread's CPU time (CLOCK_THREAD_CPUTIME_ID)"},
      {"cpu_conductor_s", "s", down, 0.10, 0, true, "", 1, "the conductor thread's CPU time"},
      {"cpu_surface_s", "s", down, 0.10, 0, true, "", 1, "the surface thread's CPU time"},
      {"foreign_cpu_share", "ratio", none, 0, 0, false, "", 1, "CPU everything but this process used during the repetition (other processes, kernel, steal), over elapsed x logical CPUs; see below"},
      {"ctx_switches_voluntary", "count", down, 0, 0, false, "", 1, "voluntary context switches (getrusage)"},
      {"ctx_switches_involuntary", "count", down, 0, 0, false, "", 1, "involuntary context switches (getrusage)"},
      {"quit_latency_us", "us", down, 0.20, 0, true, "aiway_quit_latency_seconds", 1e-6, "quit requested to ShuttingDown seen by the surface; absent without a quit, or when an in-band ShuttingDown was dropped"},
      {"shutdown_lost", "flag", down, 0, 0, false, "", 1, "control.shutdown_path = in-band only: 1 when the full lossy surface channel dropped ShuttingDown"},
      {"streams", "streams", none, 0, 0, false, "", 1, "several streams only: how many"},
      {"stream_tps_min", "tokens/s", up, 0, 0, false, "", 1, "several streams only: the slowest stream's throughput (its tokens over request to its last token)"},
      {"stream_tps_median", "tokens/s", up, 0, 0, false, "", 1, "several streams only: the median stream's throughput"},
      {"stream_tps_max", "tokens/s", none, 0, 0, false, "", 1, "several streams only: the fastest stream's throughput"},
      {"stream_p99_min_us", "us", none, 0, 0, false, "", 1, "several streams only: the best stream's corrected p99 (2 significant digits)"},
      {"stream_p99_median_us", "us", down, 0, 0, false, "", 1, "several streams only: the median stream's corrected p99"},
      {"stream_p99_max_us", "us", down, 0, 0, false, "", 1, "several streams only: the worst stream's corrected p99"},
      {"fairness_jain", "ratio", up, 0, 0, false, "", 1, "several streams only: Jain's index of the streams' throughputs (1 = even, 1/n = one stream got everything)"},
      {"worst_stream", "index", none, 0, 0, false, "", 1, "several streams only: the stream with the highest p99"},
      {"channel_max_depth", "tokens", none, 0, 0, false, "", 1, "token channel: deepest queue"},
      {"channel_mean_depth", "tokens", none, 0, 0, false, "", 1, "token channel: mean depth (from the sampler)"},
      {"surface_channel_max_depth", "tokens", none, 0, 0, false, "", 1, "surface channel: deepest queue"},
      {"surface_channel_mean_depth", "tokens", none, 0, 0, false, "", 1, "surface channel: mean depth (from the sampler)"},
      {"producer_blocked_s", "s", none, 0, 0, false, "", 1, "time the backend waited for room in the token channel"},
      {"conductor_blocked_s", "s", none, 0, 0, false, "", 1, "time the conductor waited for room in the surface channel"},
      {"allocs_per_token", "count", down, 0.05, 0, false, "", 1, "C++ heap allocations of the three stage threads per delivered token (absent under sanitizers)"},
      {"alloc_bytes_per_token", "bytes", down, 0.05, 0, false, "", 1, "bytes those allocations asked for, per delivered token"},
      {"allocs_backend", "count", down, 0, 0, false, "", 1, "C++ heap allocations of the backend thread"},
      {"allocs_conductor", "count", down, 0, 0, false, "", 1, "C++ heap allocations of the conductor thread"},
      {"allocs_surface", "count", down, 0, 0, false, "", 1, "C++ heap allocations of the surface thread"},
      {"frames_rendered", "count", none, 0, 0, false, "", 1, "viewport redraws (surface.frame_rate_hz)"},
      {"frame_time_p99_us", "us", down, 0, 0, true, "", 1, "one viewport render, 99th percentile"},
      // Counted under callgrind (run --count-instructions), in runs of their own: work, not time, so the
      // machine's load cannot move them. Unit "instructions": compare judges them as counts (verdict.hpp).
      {"instructions_per_token_backend", "instructions", down, 0.01, 0, false, "aiway_instructions_per_token_backend", 1, "run --count-instructions: instructions the backend stage's own code retired (its next() calls), per token sent"},
      {"instructions_per_token_conductor", "instructions", down, 0.01, 0, false, "aiway_instructions_per_token_conductor", 1, "run --count-instructions: instructions the conductor stage's own code retired (on_tokens, on_stream_end, planted work; not the harness's sending of its output), per token sent"},
      {"instructions_per_token_surface", "instructions", down, 0.01, 0, false, "aiway_instructions_per_token_surface", 1, "run --count-instructions: instructions the surface stage's own code retired (display, commands, stream ends, planted work; not frames), per token sent"},
      {"instructions_per_frame_surface", "instructions", down, 0.05, 0, false, "", 1, "run --count-instructions: instructions of one render() of the surface stage (how many frames a run draws follows the wall clock, so they are apart)"},
      {"raw_hop_tps", "tokens/s", none, 0, 0, true, "", 1, "measure.raw_hop, unpaced model scenarios: one raw moodycamel hop of the scenario's tokens (up to 1,000,000), measured right before the repetition"},
      {"raw_hop_ratio", "ratio", up, 0, 0, false, "", 1, "measure.raw_hop: throughput_tps / raw_hop_tps, both sides measured on the same state of the machine"},
      {"stream_end_lost", "surfaces", down, 0, 0, false, "", 1, "conductor targets: surfaces that got no StreamEnd (nor StreamError) within target.end_timeout_ms of the upstream's last token"},
      {"state_ready_lost", "surfaces", down, 0, 0, false, "", 1, "conductor targets: surfaces that never saw State Ready after the answer (they cannot know it ended)"},
      {"streams_abandoned", "streams", down, 0, 0, false, "", 1, "conductor targets: replies that began at a surface and stopped without StreamEnd or StreamError"},
      {"protocol_errors", "frames", down, 0, 0, false, "", 1, "conductor targets: frames with a bad CRC, over 10 MiB, or not a message ai-way declares (counted, never fatal; 100 drop the connection)"},
      {"foreign_acks", "acks", down, 0, 0, false, "", 1, "conductor targets: Acks a surface got for events another surface sent (ai-way broadcasts them)"},
      {"events_unacked", "events", down, 0, 0, false, "", 1, "conductor targets: events the surfaces sent that were never acknowledged (a conductor whose input is dead)"},
      {"notifies", "messages", none, 0, 0, false, "", 1, "conductor targets: Notify messages the surfaces got (warnings and errors)"},
      {"upstream_requests", "requests", none, 0, 0, false, "", 1, "conductor targets: POST /api/generate requests the harness's upstream answered"},
      {"foreign_requests", "requests", down, 0, 0, false, "", 1, "process targets: requests to the harness's upstream from another user of this machine, refused (403) and never served from the run's books"},
      {"upstream_connections_refused", "connections", down, 0, 0, false, "", 1, "process targets: connections the harness's upstream closed because its cap (2 per planned stream + 64) was open: the oldest idle one, or the new one when all were answering"},
      {"upstream_write_timeouts", "answers", down, 0, 0, false, "", 1, "conductor targets: answers the upstream abandoned because the conductor stopped reading (upstream.write_timeout_ms)"},
      {"target_cpu_s", "s", down, 0, 0, false, "", 1, "conductor targets: the target process's user + system time from the message to the end (/proc/PID/stat)"},
      {"target_cpu_share", "ratio", down, 0.10, 0.002, false, "aiway_target_cpu_share_ratio", 1, "conductor targets: target_cpu_s / (elapsed x logical CPUs)"},
      {"target_idle_cpu_share", "ratio", down, 0.10, 0.002, false, "", 1, "conductor targets: the target's CPU share while connected and idle for target.idle_ms (a conductor that waits properly: ~0)"},
      {"target_runnable_share", "ratio", down, 0, 0, false, "", 1, "conductor targets: share of the sampler's reads (every measure.sample_interval_ms) in which a thread of the target was running or waiting for a CPU, from the message to the end"},
      {"target_idle_runnable_share", "ratio", down, 0, 0, false, "", 1, "conductor targets: the same while idle (target.idle_ms); a polling thread is always runnable, so this sees busy polling even when other work leaves it no CPU"},
      {"target_rss_before_bytes", "bytes", none, 0, 0, false, "", 1, "conductor targets: the target's RSS once its socket was up"},
      {"target_rss_peak_bytes", "bytes", down, 0.10, 4 * MiB, false, "", 1, "conductor targets: the target's highest sampled RSS"},
      {"target_rss_end_bytes", "bytes", none, 0, 0, false, "", 1, "conductor targets: the target's RSS at the end, before it was stopped"},
      {"target_exit", "code", none, 0, 0, false, "", 1, "conductor targets the harness started: its exit status after SIGTERM (negative: the signal that ended it)"},
      {"target_killed", "flag", down, 0, 0, false, "", 1, "conductor targets the harness started: 1 when it ignored SIGTERM and needed SIGKILL"},
      {"streams_failed", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams that did not end with their done marker, for any of the reasons below"},
      {"truncated_streams", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams whose body or connection ended without the done marker ([DONE], \"done\": true)"},
      {"http_errors", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams answered with a status other than 2xx"},
      {"connect_errors", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams whose connection was refused or failed before the request was written"},
      {"stream_timeouts", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams that got nothing for target.stream_timeout_ms, or no connection within target.connect_timeout_ms"},
      {"malformed_streams", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams with an event or line the API does not send, or a broken HTTP response"},
      {"streams_unfinished", "streams", down, 0, 0, false, "", 1, "HTTP targets: streams not started or still open when the repetition ended (its timeout, or an interrupt)"},
      {"start_lag_max_us", "us", down, 0, 0, false, "", 1, "HTTP targets: the latest a client wrote a request after its stream was due (the clients keeping up with the arrival model)"},
      {"common_start_late_us", "us", down, 0, 0, false, "", 1, "HTTP shards (target.start_at): how late, by this machine's clock, the shard's schedule began after the common start (a restarted shard's lateness lands in its streams' latencies); merged: the latest shard's"},
      {"clock_error_bound_us", "us", down, 0, 0, false, "", 1, "HTTP shards (target.start_at): the kernel's bound on this machine's clock error (adjtimex maxerror) when the shard started: how far apart two machines' common start can be; merged: the largest"},
      {"ttft_p90_us", "us", down, 0, 0, true, "", 1, "HTTP targets: time to first token from the stream's due start, 90th percentile over streams"},
      {"ttft_p99_us", "us", down, 0.10, 0, true, "", 1, "HTTP targets: time to first token, 99th percentile over streams"},
      {"ttft_max_us", "us", down, 0, 0, true, "", 1, "HTTP targets: time to first token, the slowest stream"},
      {"itl_p99_worst_us", "us", down, 0, 0, true, "", 1, "HTTP targets: the worst stream's 99th-percentile gap between consecutive tokens"},
      {"itl_max_us", "us", down, 0, 0, true, "", 1, "HTTP targets: the longest gap between two consecutive tokens of any stream"},
      {"tpot_p50_us", "us", down, 0, 0, true, "", 1, "HTTP targets: time per output token after the first ((last - first) / (tokens - 1)), median over streams"},
      {"tpot_p99_us", "us", down, 0, 0, true, "", 1, "HTTP targets: time per output token, 99th percentile over streams"},
      {"e2e_p50_us", "us", down, 0, 0, true, "", 1, "HTTP targets: a stream's due start to its end, median over streams"},
      {"e2e_p90_us", "us", down, 0, 0, true, "", 1, "HTTP targets: a stream's due start to its end, 90th percentile over streams"},
      {"e2e_p99_us", "us", down, 0.10, 0, true, "", 1, "HTTP targets: a stream's due start to its end, 99th percentile over streams"},
      {"e2e_max_us", "us", down, 0, 0, true, "", 1, "HTTP targets: a stream's due start to its end, the slowest stream"},
      {"chunks_upstream", "chunks", none, 0, 0, false, "", 1, "HTTP targets: HTTP chunks the harness's upstream wrote, all streams"},
      {"chunks_downstream", "chunks", none, 0, 0, false, "", 1, "HTTP targets: HTTP chunks the clients received, all streams"},
      {"coalescing_ratio", "ratio", none, 0, 0, false, "", 1, "HTTP targets: chunks_upstream / chunks_downstream: 1 when the path passes chunks on as they come, above 1 when it gathers them"},
      {"wire_bytes_per_token", "bytes", down, 0, 0, false, "", 1, "HTTP targets: body bytes the clients received (chunk data) per token delivered"},
      {"goodput_ratio", "ratio", up, 0.05, 0.01, false, "aiway_goodput_ratio", 1, "HTTP targets: share of the planned streams that ended done and met every [slo] objective"},
      {"goodput_streams_per_s", "streams/s", up, 0, 0, false, "", 1, "HTTP targets: streams that met every [slo] objective per second of the repetition"},
      {"conductor.commands_rejected", "commands", none, 0, 0, false, "", 1, "the aiway conductor's counter: commands invalid or over max_commands per response"},
      {"surface.lines_wrapped", "lines", none, 0, 0, false, "", 1, "the terminal surface's counter: wrapped lines written"},
      {"backend.NAME", "", none, 0, 0, false, "", 1, "a backend stage's own counter, as it reports it (docs/stages.md)"},
      {"conductor.NAME", "", none, 0, 0, false, "", 1, "a conductor stage's own counter"},
      {"surface.NAME", "", none, 0, 0, false, "", 1, "a surface stage's own counter"},
  }};
}();

constexpr std::string_view to_string(Better better) {
  return better == Better::higher ? "higher" : better == Better::lower ? "lower" : "neither";
}

// The metrics `compare` judges by default (a threshold in the table), in
// table order: a scenario's [compare] section names them.
inline constexpr auto kComparedMetrics = [] {
  constexpr std::size_t n = [] {
    std::size_t count = 0;
    for (const MetricDescriptor& m : kMetrics) count += m.threshold > 0;
    return count;
  }();
  std::array<std::string_view, n> names{};
  std::size_t i = 0;
  for (const MetricDescriptor& m : kMetrics)
    if (m.threshold > 0) names[i++] = m.name;
  return names;
}();

// The descriptor of a metric; null for a name not in the table.
constexpr const MetricDescriptor* find_metric(std::string_view name) {
  for (const MetricDescriptor& m : kMetrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace aiway
