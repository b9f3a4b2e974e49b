// The scenario: one stress workload, as plain data. Parsed from TOML by
// aiway/scenario_file.hpp; every field has a default, so a file names only what
// differs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aiway/metrics.hpp"

namespace aiway {

// A stage parameter's value ([conductor.params] etc.): its type is the one the
// stage declares (aiway/stage.hpp); until the scenario is resolved against the
// registry it is what the file wrote.
using ParamValue = std::variant<bool, std::int64_t, double, std::string>;
using ParamValues = std::map<std::string, ParamValue>;

// What a bounded channel does when it is full.
enum class Overflow {
  block,        // the producer waits (backpressure): nothing is lost
  drop_newest,  // the item being sent is dropped (ai-way's try_send)
  drop_oldest,  // the oldest queued item is dropped to make room
};

// When the paced backend's tokens are due (per stream rate_tps on average):
// evenly spaced, or with random gaps from a seeded generator. Gamma gaps follow
// LLM-serving benchmarks: shape = burstiness (1 is Poisson, below 1 burstier).
enum class Arrival { constant, poisson, gamma };

// How the surface wraps text: incrementally (only the current line), or
// ai-way's way, re-wrapping the whole message on every token (quadratic).
enum class Rewrap { incremental, full };

// Where ShuttingDown travels from the conductor to the surface: on the control
// lane, overtaking queued data, or in the data channel behind it (ai-way),
// where a lossy channel can drop it.
enum class ControlPath { separate, in_band };

struct BackendConfig {
  std::string impl = "mock";        // the registered backend: "mock" (generated text) or "trace" (a recording)
  std::string trace;                // impl = "trace": the JSON-lines recording to replay
  ParamValues params;               // [backend.params]: the implementation's own parameters
  std::uint32_t streams = 1;        // concurrent streams, interleaved round-robin
  std::uint64_t messages = 1000;    // tokens per stream (the seed calls each token a message)
  std::uint32_t size = 10;          // generator size class (docs/scenarios.md)
  double rate_tps = 0;              // tokens/s per stream; 0 = flat out (unpaced)
  std::uint32_t commands = 0;       // [yolla:…] commands planted per stream
  bool split_commands = true;       // every second planted command straddles two tokens
  Arrival arrival = Arrival::constant;
  double burstiness = 1;            // gamma shape (arrival = "gamma")
  std::uint64_t seed = 1;           // random arrivals and network jitter are reproducible
};

// A network-like delay on the backend -> conductor hop: each token arrives
// delay_us +- jitter_us (uniform) after it was sent, never before the one ahead.
struct HopConfig {
  double delay_us = 0;
  double jitter_us = 0;
  bool active() const { return delay_us > 0 || jitter_us > 0; }
};

// The queue under a channel: a ring of token slots the consumer reads in place
// (the default), moodycamel's lock-free queue, both with spin-then-futex
// waits, or the reference a user would write first, a std::deque behind a
// mutex with condition variables (no spinning).
enum class ChannelImpl { ring, moodycamel, mutex };

struct ChannelConfig {
  std::uint64_t capacity = 10000;
  Overflow overflow = Overflow::block;
  ChannelImpl impl = ChannelImpl::ring;
};

struct ConductorConfig {
  std::string impl = "aiway";       // the registered conductor: "aiway" (ai-way's model) or a user's
  ParamValues params;               // [conductor.params]
  std::uint64_t transcript_max_bytes = 10ull << 20;  // ai-way keeps at most 10 MB
  std::uint32_t max_commands = 10;                   // per response, as ai-way validates
  // CPU work per token that reads no clock (surface.extra_work_ns's twin, on
  // the stage that bounds a flat-out pipeline): plants a known slowdown.
  double extra_work_ns = 0;
  // Exactly this many more instructions per token (within a few a batch),
  // reading no clock: a change an instruction count must see, exactly.
  std::uint64_t extra_work_instructions = 0;
};

struct SurfaceConfig {
  std::string impl = "terminal";    // the registered surface: "terminal" (a terminal UI's model) or a user's
  ParamValues params;               // [surface.params]
  double work_us = 0;               // busy work per token (sleeps overshoot, so it spins)
  // CPU work per token that reads no clock (a loop calibrated at start-up):
  // the way to plant a small, known slowdown.
  double extra_work_ns = 0;
  std::uint64_t extra_work_instructions = 0;  // exactly this many more per token (conductor's twin)
  double frame_rate_hz = 60;        // viewport redraws per second; 0 = never
  std::uint32_t width = 80;         // wrap width in columns
  std::uint32_t height = 24;        // visible rows rendered per frame
  std::uint32_t scrollback_lines = 1000;  // wrapped lines kept per stream
  Rewrap rewrap = Rewrap::incremental;
};

// Faults injected on purpose; 0 means off. The channel canaries make the token
// channel misbehave in one data token of every N, to prove the surface's
// detectors: a drop is lost unaccounted, a duplicate, a reorder (the token is
// sent after its successor) and a corruption (one byte flipped) are counted.
struct FaultConfig {
  std::uint64_t error_at = 0;          // each stream ends with Error after this many tokens
  std::uint64_t second_request_at = 0; // a new request arrives after this many tokens: every open response is cancelled
  std::uint64_t disconnect_at = 0;     // the backend drops the connection after this many tokens (all streams, no terminal)
  std::uint64_t backend_stall_at = 0;  // after this many tokens the backend stalls once…
  double backend_stall_ms = 0;         // …for this long
  std::uint64_t surface_stall_at = 0;  // after this many delivered tokens the surface stalls once…
  double surface_stall_ms = 0;         // …for this long
  std::uint64_t surface_stop_at = 0;   // after this many delivered tokens the surface stops consuming for good (a hang)
  std::uint64_t channel_drop_every = 0;
  std::uint64_t channel_duplicate_every = 0;
  std::uint64_t channel_reorder_every = 0;
  std::uint64_t channel_corrupt_every = 0;
};

struct ControlConfig {
  std::optional<double> quit_at;  // fraction of the stream after which quit is requested
  ControlPath shutdown_path = ControlPath::separate;
};

struct PipelineConfig {
  std::uint32_t batch = 256;   // max tokens moved per bulk channel operation
  double spin_us = 2;          // a waiting stage spins this long before it sleeps
  // A paced backend sleeps at least this long, then sends what is due: each
  // window costs about three thread wake-ups (backend, conductor, surface), so
  // 1 ms keeps rapid-tokens near 3 % CPU at a p99 of about one window.
  double batch_window_us = 1000;
};

struct MeasureConfig {
  bool latency = true;              // per-token timestamps and latency histograms
  double sample_interval_ms = 10;   // RSS / queue-depth sampler period
  // Right before each repetition of an unpaced model scenario, one raw hop of
  // the same tokens (raw_hop_tps), and the repetition's throughput over it
  // (raw_hop_ratio): a ratio whose two sides met the same state of the machine.
  bool raw_hop = false;
  // A repetition during which other work used more than this share of the
  // machine's CPU (wall x logical CPUs) measured a busier machine, not this
  // build: it is discarded and taken again, at most rerun_disturbed times per
  // scenario in each process. 0 switches the check off.
  double max_foreign_cpu = 0.10;
  std::uint32_t rerun_disturbed = 3;
  // The memory a scenario may need, estimated before it runs (transcripts,
  // channels full of its largest tokens, scrollback, histograms); unset: half
  // of the machine's MemAvailable. A scenario over it is refused.
  std::optional<double> max_memory_mib;
};

// What is measured: the harness's own pipeline model, a conductor process
// driven over ai-way's socket protocol (the harness plays its upstream LLM
// server and its surfaces), or an HTTP path (a proxy, or nothing) between the
// harness's upstream and its streaming HTTP clients.
enum class TargetKind { model, aiway, http };
// How a harness surface introduces itself: ai-way's Handshake, or Connected as its TUI does.
enum class Greeting { handshake, connected };

// The reference conductor, which an aiway target starts unless told otherwise.
inline const std::vector<std::string>& reference_conductor_command() {
  static const std::vector<std::string> command = {"{self}", "conductor", "--socket", "{socket}"};
  return command;
}

struct TargetConfig {
  TargetKind kind = TargetKind::model;
  // http: where the clients send their requests; {upstream} is the harness's
  // upstream (host:port) and {port} the port given to the started proxy. The
  // path chooses the API: /v1/chat/completions (OpenAI SSE), /api/chat or
  // /api/generate (Ollama NDJSON).
  std::string url = "http://{upstream}/v1/chat/completions";
  // http: a file (relative to the scenario file) whose text, with {upstream},
  // {port} and {dir} substituted, is written to {config} for the command.
  std::string config_template;
  // The conductor's socket; "": a fresh path in a private temporary folder per repetition.
  std::string socket;
  // The program started per repetition ("{socket}" and "{self}", this binary,
  // are substituted); empty: connect to a conductor already running on
  // `socket` (aiway) or start no proxy (http). Unset: the kind's default,
  // see started_command(). A value, so it means the same after any round trip.
  std::optional<std::vector<std::string>> command;
  std::vector<std::string> env;       // extra NAME=VALUE for the started conductor
  bool legacy = false;                // the reference conductor with every behaviour of the real daemon
  std::uint32_t surfaces = 1;         // surfaces connected; the first `askers` ask, all read
  std::uint32_t askers = 1;           // surfaces that each send a message, ask_every_ms apart
  double ask_every_ms = 100;
  Greeting greeting = Greeting::handshake;
  double start_timeout_ms = 10000;    // for the socket to appear and the greetings to be answered
  double end_timeout_ms = 2000;       // after the upstream's last token: StreamEnd and Ready must have come by then
  double idle_ms = 0;                 // connected and idle this long before the message: the conductor's idle CPU
  double quit_after_ms = 0;           // a quit requested this long after the message (control.quit_at: after a share of the tokens)
  double write_timeout_ms = 5000;     // a surface's writes to a conductor that stopped reading give up after this
  bool bad_frame_first = false;       // the asking surface sends one frame with a bad CRC before its message
  // http: when the backend.streams streams start. All at once, evenly over
  // ramp_up_ms, or at start_rate streams/s with start_arrival gaps; at most
  // max_concurrent open at a time (0: no cap).
  double ramp_up_ms = 0;
  double start_rate = 0;
  Arrival start_arrival = Arrival::constant;
  std::uint32_t max_concurrent = 0;
  double stream_timeout_ms = 30000;   // http: a stream that receives nothing for this long ends as timed out
  double connect_timeout_ms = 5000;   // http: a connection not made within this ends the stream
  double stalled_streams = 1;         // http: the share of streams that take faults.surface_stall_at/_ms, spread evenly
  // http: streams are split over this many client threads (each an event loop).
  std::uint32_t client_threads = 1;
  // http: this run starts the K-th of N disjoint slices of the streams
  // ("K/N"; "": all of them), the streams i with i mod N = K - 1 of one
  // schedule, so shards on several machines together make one load.
  std::string shard;
  // http: the schedule's zero, as Unix time in seconds (0: when the repetition
  // is ready), so that shards start together; repetition k starts
  // start_every_s x k later.
  double start_at = 0;
  double start_every_s = 0;

  // What is started per repetition: the command as given, else the kind's
  // default (aiway: the reference conductor; http and model: nothing).
  const std::vector<std::string>& started_command() const {
    static const std::vector<std::string> nothing;
    if (command) return *command;
    return kind == TargetKind::aiway ? reference_conductor_command() : nothing;
  }
};

// The harness's upstream (target.kind = "aiway"): the tokens come from
// [backend] (messages, size, rate_tps, arrival); these are what the upstream
// does wrong on purpose.
struct UpstreamConfig {
  // host:port on the loopback; port 0: any free one (a conductor or proxy
  // already running needs a fixed one).
  std::string listen = "127.0.0.1:0";
  double headers_delay_ms = 0;
  double first_token_delay_ms = 0;
  std::uint32_t tokens_per_chunk = 1;
  bool split_lines = false;
  bool split_utf8 = false;
  std::uint32_t status = 200;
  std::uint64_t error_line_at = 0;
  std::uint64_t reset_at = 0;
  bool eof_without_done = false;
  bool empty_answer = false;          // the answer has no tokens at all
  double write_timeout_ms = 5000;
};

// Absolute pass/fail limits; an unset limit is not checked.
struct Expectations {
  std::optional<double> min_throughput_tps;
  std::optional<double> max_latency_p99_ms;
  std::optional<double> max_rss_growth_mib;
  std::optional<double> max_cpu_share;
  std::optional<double> max_loss_ratio;        // (dropped by policy + lost unaccounted) / sent
  std::optional<double> max_quit_latency_ms;
  std::optional<double> max_lost_unaccounted = 0;  // integrity: these default to zero
  std::optional<double> max_duplicated = 0;
  std::optional<double> max_reordered = 0;
  std::optional<double> max_corrupted = 0;
  // A conductor target's own failures, judged in the worst repetition.
  std::optional<double> max_stream_end_lost;
  std::optional<double> max_state_ready_lost;
  std::optional<double> max_streams_abandoned;
  std::optional<double> max_protocol_errors;
  std::optional<double> max_foreign_acks;
  std::optional<double> max_events_unacked;
  std::optional<double> max_target_cpu_share;       // median
  std::optional<double> max_target_idle_cpu_share;  // median
  std::optional<double> max_target_idle_runnable_share;  // median
  // For scenarios that plant channel canaries: each repetition must detect
  // exactly what was planted (lost = drops, duplicated, reordered, corrupted);
  // replaces the four integrity limits above.
  bool detected_equals_planted = false;
  std::optional<double> min_goodput_ratio;  // http: median share of streams that met every [slo]
  std::optional<double> max_streams_failed;      // http: streams that did not end done (worst repetition)
  std::optional<double> min_coalescing_ratio;    // http: median upstream chunks per downstream chunk
};

// [slo]: what one HTTP stream must meet to count as good (goodput, as vLLM
// and AIPerf define it); an unset objective is not checked. A stream that did
// not end with its done marker never counts.
struct ServiceLevels {
  std::optional<double> ttft_ms;
  std::optional<double> itl_p99_ms;
  std::optional<double> e2e_ms;
};

// [compare]: practical thresholds for this scenario's comparisons, as relative
// changes (0.10 = 10 %), overriding the defaults of `compare`; named by metric.
struct CompareThresholds {
  // One per compared metric, in the order of kComparedMetrics (the metric table).
  std::array<std::optional<double>, kComparedMetrics.size()> change{};
  // By metric name; a name that is not a compared metric is a programming error.
  std::optional<double>& operator[](std::string_view metric) { return change[index(metric)]; }
  const std::optional<double>& operator[](std::string_view metric) const { return change[index(metric)]; }
  static std::size_t index(std::string_view metric) {
    for (std::size_t i = 0; i < kComparedMetrics.size(); ++i)
      if (kComparedMetrics[i] == metric) return i;
    throw std::out_of_range(std::string(metric) + " is not a compared metric");
  }
  // The metrics that decide the gate's exit code, comma-separated; empty: the
  // default family (throughput_tps, latency_p99_us, and quit latency, CPU share
  // or loss where the scenario quits, is paced or may drop).
  std::string gating;
};

struct Scenario {
  std::string name;
  std::string description;
  std::uint32_t repetitions = 5;
  std::uint32_t warmup = 1;         // repetitions run first and not counted
  double timeout_s = 120;           // per repetition
  double stall_timeout_s = 5;       // watchdog: no stage progressed for this long means stuck
  BackendConfig backend;
  HopConfig hop1;                   // backend -> conductor network
  ChannelConfig channel;            // backend -> conductor
  ChannelConfig surface_channel;    // conductor -> surface
  ConductorConfig conductor;
  SurfaceConfig surface;
  ControlConfig control;
  PipelineConfig pipeline;
  FaultConfig faults;
  MeasureConfig measure;
  TargetConfig target;
  UpstreamConfig upstream;
  ServiceLevels slo;
  Expectations expect;
  CompareThresholds compare;

  std::string source;                          // file it came from ("" for built in)
  std::map<std::string, std::string> origin;   // "backend.messages" -> "file:3:1" or "--set"

  std::uint64_t total_tokens() const { return backend.messages * backend.streams; }
  // An HTTP target's proxy is started when its command names one.
  bool starts_proxy() const { return target.kind == TargetKind::http && !target.started_command().empty(); }
  // The harness's own pipeline with nothing pacing it (no schedule, trace or
  // surface work): its throughput is the pipeline's, comparable with a raw hop.
  bool unpaced_model() const {
    return target.kind == TargetKind::model && backend.rate_tps == 0 && backend.trace.empty() && surface.work_us == 0;
  }
};

}  // namespace aiway
