#include "targets/conductor/conductor_target.hpp"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "aiway/input_error.hpp"
#include "aiway/latency_histogram.hpp"
#include "measure/clock.hpp"
#include "measure/histogram_encoding.hpp"
#include "measure/process_stats.hpp"
#include "net/socket.hpp"
#include "results/derived_metrics.hpp"
#include "targets/conductor/surface_client.hpp"
#include "files/scratch_folder.hpp"
#include "targets/process/child_process.hpp"
#include "targets/process/process_metrics.hpp"
#include "targets/process/target_process.hpp"
#include "upstream/llm_server.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {

constexpr std::int64_t kTickNs = 5'000'000;
constexpr double kExitAfterHangUpMs = 1000;  // how long a hang-up may precede the target's exit

double us(std::int64_t ns) { return double(ns) / 1e3; }
std::int64_t ms_ns(double ms) { return std::int64_t(ms * 1e6); }

}  // namespace

std::vector<std::string> target_command(const Scenario& s, const std::string& socket) {
  std::vector<std::string> argv;
  for (const std::string& arg : s.target.started_command()) argv.push_back(substitute(arg, {{"{socket}", socket}, {"{self}", own_executable().string()}}));
  if (s.target.legacy) argv.push_back("--legacy");
  return argv;
}

void ConductorTarget::check_before_run(const Scenario& s, double) const {
  const TargetConfig& t = s.target;
  if (t.socket.empty() || t.started_command().empty()) return;
  try {
    net::claim_unix_socket_path(t.socket);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: target.socket: {}", s.source.empty() ? s.name : s.source, e.what()));
  }
}

namespace {

// Waits (bounded) until the conductor's socket takes a connection; a target
// that ends first is reported with its output. Empty when it does.
std::string await_socket(const std::string& socket, TargetProcess* process, std::int64_t deadline, double timeout_ms,
                         const std::atomic<bool>* interrupt, bool& interrupted) {
  for (;;) {
    if (net::connect_unix(socket)) return {};
    if (process && !process->running()) {
      process->end_strays(500);  // named in how_it_ended()
      return fmt::format("the target ({}) ended before its socket {} appeared: {}", process->how_it_ended(), socket,
                         process->output_tail());
    }
    if (monotonic_ns() >= deadline)
      return fmt::format("the target's socket {} did not appear within {} ms{}", socket, timeout_ms,
                         process ? fmt::format("; its output: {}", process->output_tail()) : std::string());
    if (interrupt && interrupt->load()) {
      interrupted = true;
      return {};
    }
    sleep_ns(2'000'000);
  }
}

// The books of every surface against what the upstream sent: each token
// delivered or missing by its number, the end markers, the protocol's
// errors, the latencies from each token's intended send time.
void book_surfaces(const Scenario& s, const LlmServer& upstream, const std::vector<std::unique_ptr<SurfaceClient>>& surfaces,
                   std::uint64_t planned_tokens, std::int64_t request_ns, Repetition& rep) {
  const std::vector<AnswerRecord> answers = upstream.answers();
  Metrics& m = rep.metrics;
  // What each answer put on the wire, within the numbers the surfaces book
  // (an answer nobody asked for would carry numbers past them).
  std::uint64_t sent = 0;
  std::int64_t answers_end = request_ns;
  bool headers_sent = false;
  auto sent_of = [&](const AnswerRecord& a) {
    return a.first_seq >= planned_tokens ? 0 : std::min(a.tokens_sent, planned_tokens - a.first_seq);
  };
  for (const AnswerRecord& a : answers) {
    sent += sent_of(a);
    answers_end = std::max(answers_end, a.end_ns);
    headers_sent |= a.headers_ns > 0;
  }
  const double expected = double(sent) * double(surfaces.size());
  std::uint64_t delivered = 0, missing = 0, duplicated = 0, reordered = 0, corrupted = 0, abandoned = 0;
  std::uint64_t protocol_errors = 0, foreign_acks = 0, stream_errors = 0, end_lost = 0, ready_lost = 0, notifies = 0;
  std::uint64_t unacked = 0;
  LatencyHistogram corrected, uncorrected;
  std::int64_t last_token = request_ns;
  const std::int64_t end_by = answers_end + ms_ns(s.target.end_timeout_ms);
  for (const auto& c : surfaces) {
    const SurfaceBooks& b = c->books();
    delivered += b.delivered;
    duplicated += b.duplicated;
    reordered += b.reordered;
    corrupted += b.corrupted;
    abandoned += b.streams_abandoned;
    protocol_errors += b.protocol_errors;
    foreign_acks += b.foreign_acks;
    stream_errors += b.stream_errors;
    notifies += b.notifies;
    unacked += b.events_sent - b.events_acked;
    last_token = std::max(last_token, b.last_token_ns);
    const bool ended = (b.stream_end_ns > 0 && b.stream_end_ns <= end_by) || b.stream_error_ns > 0;
    if (headers_sent && !ended) ++end_lost;
    if (b.ready_ns == 0 || b.ready_ns > end_by) ++ready_lost;
    for (const AnswerRecord& a : answers)
      for (std::uint64_t i = 0, n = sent_of(a); i < n; ++i) {
        const std::int64_t got = b.received_ns[a.first_seq + i];
        if (got == 0) {
          ++missing;
          continue;
        }
        corrected.record(got - a.intended_ns[i]);
        uncorrected.record(got - a.sent_ns[i]);
      }
  }
  m.set("tokens_sent", double(sent));
  m.set("tokens_delivered", double(delivered));
  m.set("missing_at_surface", double(missing));
  // Every token the upstream sent reached each surface or is missing by its
  // sequence number; anything else is the books' own error.
  m.set("lost_unaccounted", expected - double(delivered) - double(missing));
  m.set("loss_ratio", expected > 0 ? double(missing) / expected : 0);
  m.set("duplicated", double(duplicated));
  m.set("reordered", double(reordered));
  m.set("corrupted", double(corrupted));
  m.set("stream_errors", double(stream_errors));
  m.set("stream_end_lost", double(end_lost));
  m.set("state_ready_lost", double(ready_lost));
  m.set("streams_abandoned", double(abandoned));
  m.set("protocol_errors", double(protocol_errors));
  m.set("foreign_acks", double(foreign_acks));
  m.set("events_unacked", double(unacked));
  m.set("notifies", double(notifies));
  m.set("upstream_requests", double(upstream.generate_requests()));
  m.set("foreign_requests", double(upstream.foreign_requests()));
  m.set("upstream_connections_refused", double(upstream.refused_connections()));
  m.set("upstream_write_timeouts", double(std::count_if(answers.begin(), answers.end(), [](const auto& a) { return a.write_timed_out; })));

  const double wall_s = double(last_token - request_ns) / 1e9;
  m.set("wall_s", wall_s);
  m.set("throughput_tps", wall_s > 0 ? double(delivered) / wall_s : 0);
  if (s.measure.latency && corrected.count() > 0) {
    set_token_latency_metrics(corrected, m);
    m.set("latency_uncorrected_p99_us", us(uncorrected.value_at_percentile(99)));
    const SurfaceBooks& first = surfaces.front()->books();
    if (first.first_token_ns > 0) m.set("ttft_us", us(first.first_token_ns - request_ns));
    // Gaps between consecutive arrivals at the asking surface, in arrival order.
    std::vector<std::int64_t> arrivals;
    for (const std::int64_t got : first.received_ns)
      if (got > 0) arrivals.push_back(got);
    std::sort(arrivals.begin(), arrivals.end());
    LatencyHistogram gaps;
    for (std::size_t i = 1; i < arrivals.size(); ++i) gaps.record(arrivals[i] - arrivals[i - 1]);
    if (gaps.count() > 0) m.set("itl_p99_us", us(gaps.value_at_percentile(99)));
    rep.latency_spectrum = spectrum_lines(corrected);
    rep.latency_histogram = encode_histogram(corrected);
  }
  const SurfaceBooks& first = surfaces.front()->books();
  if (first.quit_sent_ns > 0 && first.shutting_down_ns > 0) m.set("quit_latency_us", us(first.shutting_down_ns - first.quit_sent_ns));
  if (first.quit_sent_ns > 0) m.set("shutdown_lost", first.shutting_down_ns > 0 ? 0 : 1);

}

// The surfaces on the conductor's socket; the first one asks, and carries
// the planned stall and quit.
std::vector<std::unique_ptr<SurfaceClient>> open_surfaces(const Scenario& s, const std::string& socket, std::uint64_t tokens) {
  SurfacePlan plan;
  plan.tokens = tokens;
  plan.size = s.backend.size;
  plan.multibyte = s.upstream.split_utf8;
  plan.write_timeout_ms = s.target.write_timeout_ms;
  std::vector<std::unique_ptr<SurfaceClient>> surfaces;
  for (std::uint32_t i = 0; i < s.target.surfaces; ++i) {
    SurfacePlan p = plan;
    if (i == 0) {
      p.stall_at = s.faults.surface_stall_at;
      p.stall_ms = s.faults.surface_stall_ms;
      if (s.control.quit_at) p.quit_at = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(*s.control.quit_at * double(tokens))));
    }
    surfaces.push_back(std::make_unique<SurfaceClient>(socket, i, p));
  }
  return surfaces;
}

// Idle: connected, nothing asked. A conductor that waits properly uses ~0.
void measure_idle(double idle_ms, pid_t pid, ProcessSampler& sampler, TargetSamples& samples) {
  const int cpus = int(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  const auto before = sample_process(pid);
  const RunnableCount runnable_before = sampler.counts();
  const std::int64_t from = monotonic_ns();
  sleep_ns(ms_ns(idle_ms));
  const auto after = sample_process(pid);
  samples.idle_runnable = sampler.counts().share_since(runnable_before);
  if (before && after) samples.idle_share = (after->cpu_s - before->cpu_s) / (double(monotonic_ns() - from) / 1e9 * cpus);
}

// A target may end once a surface asked it to quit; ending any other way is
// a failure (empty when it has not ended, or ended as asked).
std::string ended_midway(TargetProcess* process, const SurfaceClient& asker) {
  if (!process || process->running()) return {};
  if (process->exit_value() == 0 && asker.quit_requested()) return {};
  process->end_strays(500);  // named in how_it_ended()
  return fmt::format("the target ended mid-run ({}); its output: {}", process->how_it_ended(), process->output_tail());
}

// The question and its answer: the askers' messages ask_every_ms apart, a
// planned quit, until every surface saw the answer end (one asker) or nothing
// more came for end_timeout_ms; why it stopped early, or empty.
std::string converse(const Scenario& s, const std::vector<std::unique_ptr<SurfaceClient>>& surfaces, TargetProcess* process,
                     const LlmServer& upstream, std::int64_t request_ns, std::int64_t deadline,
                     const std::atomic<bool>* interrupt, bool& interrupted) {
  const TargetConfig& t = s.target;
  SurfaceClient& asker = *surfaces.front();
  std::string failure;
  auto failed_midway = [&] {
    failure = ended_midway(process, asker);
    return !failure.empty();
  };
  std::uint32_t asked = 0;
  // The askers' messages, ask_every_ms apart, the first one now.
  auto ask_when_due = [&](std::int64_t now) {
    for (; asked < t.askers && now - request_ns >= std::int64_t(asked) * ms_ns(t.ask_every_ms); ++asked) {
      SurfaceClient& c = *surfaces[asked];
      if (!c.send(wire::user_message_event(c.next_event_id(), "aiway-stress: answer with the planned tokens"))) {
        failure = fmt::format("the conductor did not take surface {}'s UserMessage within {} ms", asked, t.write_timeout_ms);
        return false;
      }
    }
    return true;
  };
  if (!ask_when_due(request_ns)) return failure;
  bool quit_sent = false;
  for (;;) {
    const std::int64_t now = monotonic_ns();
    if (interrupt && interrupt->load()) {
      interrupted = true;
      break;
    }
    if (failed_midway()) break;
    if (now >= deadline) {
      failure = fmt::format("timeout after {} s: the upstream sent {} tokens, the first surface saw {}", s.timeout_s,
                                upstream.tokens_sent(), asker.tokens_seen());
      break;
    }
    if (!ask_when_due(now)) break;
    if (t.quit_after_ms > 0 && !quit_sent && now - request_ns >= ms_ns(t.quit_after_ms)) {
      quit_sent = true;
      asker.request_quit();
    }
    // One question: done once every surface saw it end. Several: which
    // Ready ends which answer cannot be told apart (a refused or preempted
    // message has none), so only quiet ends the repetition.
    if (t.askers == 1 && std::all_of(surfaces.begin(), surfaces.end(), [](const auto& c) { return c->finished() || c->gone(); })) {
      // A target that dies hangs up its surfaces a moment before its exit
      // status can be read: a hang-up before the answer ended waits for it.
      const bool hung_up = std::any_of(surfaces.begin(), surfaces.end(), [](const auto& c) { return c->gone() && !c->finished(); });
      if (hung_up && process && process->ends_within(kExitAfterHangUpMs)) failed_midway();
      break;
    }
    // Nothing more is coming: the upstream is done and nothing arrived for end_timeout_ms.
    std::int64_t last = std::max(request_ns, upstream.last_activity_ns());
    for (const auto& c : surfaces) last = std::max(last, c->last_receive_ns());
    if (asked == t.askers && !upstream.answering() && now - last >= ms_ns(t.end_timeout_ms)) break;
    sleep_ns(kTickNs);
  }
  return failure;
}

}  // namespace

RepetitionOutcome ConductorTarget::run_repetition(const Scenario& s, const RepetitionContext& context) const {
  const std::atomic<bool>* interrupt = context.interrupt;
  RepetitionOutcome out;
  const TargetConfig& t = s.target;
  ScratchFolder folder;
  const std::string socket = t.socket.empty() ? (folder.path() / "conductor.sock").string() : t.socket;
  std::optional<LlmServer> upstream_server;
  try {
    upstream_server.emplace(answer_plan(s, s.target.askers), *net::parse_host_port(s.upstream.listen));
  } catch (const std::exception& e) {
    out.failure = fmt::format("the harness's upstream cannot listen: {}", e.what());
    return out;
  }
  LlmServer& upstream = *upstream_server;

  std::unique_ptr<TargetProcess> process;
  pid_t pid = 0;
  const std::int64_t t0 = monotonic_ns();
  if (!t.started_command().empty()) {
    std::vector<std::string> env = {"OLLAMA_HOST=127.0.0.1", fmt::format("OLLAMA_PORT={}", upstream.port()),
                                    fmt::format("CONDUCTOR_SOCKET={}", socket), "YOLLAYAH_GREET=0",
                                    "CONDUCTOR_MAX_MESSAGES_PER_MINUTE=1000000"};
    env.insert(env.end(), t.env.begin(), t.env.end());
    try {
      process = std::make_unique<TargetProcess>(target_command(s, socket), env, folder.path());
    } catch (const std::exception& e) {
      out.failure = e.what();
      return out;
    }
    pid = process->pid();
  }
  upstream.start();

  // The socket: bounded wait, and a target that dies first is reported with its output.
  const std::int64_t start_deadline = monotonic_ns() + ms_ns(t.start_timeout_ms);
  out.failure = await_socket(socket, process.get(), start_deadline, t.start_timeout_ms, interrupt, out.interrupted);
  if (!out.failure.empty() || out.interrupted) return out;

  const std::uint64_t planned_tokens = s.backend.messages * t.askers;  // answer k's tokens are numbered from k x messages
  std::vector<std::unique_ptr<SurfaceClient>> surfaces;
  try {
    surfaces = open_surfaces(s, socket, planned_tokens);
  } catch (const std::exception& e) {
    out.failure = e.what();
    return out;
  }
  if (!process) pid = net::peer_pid(surfaces.front()->fd());
  TargetSamples samples;  // the target process around the measured part
  samples.rss_before = sample_process(pid);
  ProcessSampler sampler(pid, s.measure.sample_interval_ms);

  for (auto& surface : surfaces) {
    surface->start();
    const std::string id = surface->next_event_id();
    surface->send(t.greeting == Greeting::handshake ? wire::handshake_event(id) : wire::connected_event(id));
  }
  while (!std::all_of(surfaces.begin(), surfaces.end(), [](const auto& c) { return c->greeted(); })) {
    out.failure = ended_midway(process.get(), *surfaces.front());
    if (!out.failure.empty()) return out;
    if (monotonic_ns() >= start_deadline) {
      out.failure = fmt::format("the conductor did not answer the surfaces' {} within {} ms",
                                t.greeting == Greeting::handshake ? "Handshake" : "Connected", t.start_timeout_ms);
      return out;
    }
    sleep_ns(1'000'000);
  }

  if (t.idle_ms > 0) measure_idle(t.idle_ms, pid, sampler, samples);

  // The question.
  samples.cpu_before = sample_process(pid);
  const RunnableCount runnable_before = sampler.counts();
  const CpuWindow window;
  SurfaceClient& asker = *surfaces.front();
  if (t.bad_frame_first) {
    // A frame whose CRC does not match: a conductor should skip it (or say
    // so); ai-way's never consumes it, and its input is dead from then on.
    std::string bad = wire::frame(wire::quit_requested_event("evt_bad"));
    bad[4] = char(bad[4] ^ 0xFF);
    asker.send_raw(bad);
  }
  const std::int64_t request_ns = monotonic_ns();
  const std::int64_t deadline = t0 + std::int64_t(s.timeout_s * 1e9);
  out.failure = converse(s, surfaces, process.get(), upstream, request_ns, deadline, interrupt, out.interrupted);
  for (auto& c : surfaces) c->stop_and_join();
  samples.cpu_after = sample_process(pid);
  samples.runnable_share = sampler.counts().share_since(runnable_before);
  const CpuUsage usage = window.close(kMinForeignWindowS);
  samples.rss_peak = sampler.stop();
  samples.rss_end = sample_process(pid);
  if (process) process->stop(kStopGraceMs);
  upstream.stop();
  if (!out.failure.empty() || out.interrupted) return out;

  Metrics& m = out.repetition.metrics;
  book_surfaces(s, upstream, surfaces, planned_tokens, request_ns, out.repetition);
  set_process_metrics(samples, process.get(), usage, m);
  return out;
}

}  // namespace aiway
