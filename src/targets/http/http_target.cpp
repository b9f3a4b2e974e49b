#include "targets/http/http_target.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "aiway/input_error.hpp"
#include "aiway/latency_histogram.hpp"
#include "aiway/scenario_file.hpp"
#include "measure/clock.hpp"
#include "measure/histogram_encoding.hpp"
#include "net/socket.hpp"
#include "net/url.hpp"
#include "pipeline/arrival.hpp"
#include "results/derived_metrics.hpp"
#include "targets/http/http_client.hpp"
#include "files/scratch_folder.hpp"
#include "targets/process/child_process.hpp"
#include "targets/process/process_metrics.hpp"
#include "targets/process/target_process.hpp"
#include "upstream/llm_server.hpp"

namespace aiway {
namespace {

constexpr std::int64_t kTickNs = 5'000'000;
constexpr std::int64_t kLeadNs = 2'000'000;  // the schedule's zero, after the clients are ready
constexpr double kMaxLateStartS = 10;         // a shard this late to its common start fails

std::int64_t ms_ns(double ms) { return std::int64_t(ms * 1e6); }

// A free loopback port for the proxy: bound, read, released. Another program
// could take it before the proxy does; the proxy then fails to start, and
// says so in its output.
std::uint16_t free_port() {
  const net::Fd probe = net::listen_tcp("127.0.0.1", 0, 1);
  return net::local_port(probe.get());
}

// The stream number in a request's prompt ("aiway-stress stream 12: ...").
std::optional<std::uint32_t> stream_of_prompt(const std::string& prompt) {
  constexpr std::string_view tag = "aiway-stress stream ";
  const std::size_t at = prompt.find(tag);
  if (at == std::string::npos) return std::nullopt;
  std::uint32_t n = 0;
  const char* first = prompt.data() + at + tag.size();
  const auto [end, ec] = std::from_chars(first, prompt.data() + prompt.size(), n);
  if (ec != std::errc() || end == first) return std::nullopt;
  return n;
}

// When each of the scenario's streams is due, from zero: all at once, evenly
// over the ramp, or on the start arrival model. The whole schedule, so that
// shards are slices of one load.
std::vector<std::int64_t> stream_schedule(const Scenario& s, std::int64_t zero) {
  const TargetConfig& t = s.target;
  std::vector<std::int64_t> due(s.backend.streams, zero);
  if (t.start_rate > 0) {
    ArrivalSchedule starts(t.start_arrival, t.start_rate, s.backend.burstiness, s.backend.seed + 1, zero);
    // The first stream starts at zero; the gaps follow the model.
    const std::int64_t first = starts.peek();
    for (auto& d : due) d = zero + (starts.next() - first);
  } else if (t.ramp_up_ms > 0) {
    for (std::size_t i = 0; i < due.size(); ++i) due[i] = zero + std::int64_t(double(i) * t.ramp_up_ms * 1e6 / double(due.size()));
  }
  return due;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read target.config_template {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Who the harness runs as: a proxy started as root is told to stay root
// ("user {user};" in an nginx config), so its workers can use the private folder.
std::string user_name() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : std::to_string(::geteuid());
}

// The kernel's bound on this clock's error (adjtimex maxerror, which grows
// while no time daemon disciplines the clock): two machines' common start
// can be this far apart on each side.
double clock_error_bound_s() {
  timex t{};
  ::adjtimex(&t);
  return double(t.maxerror) / 1e6;
}

bool meets(const std::optional<double>& limit_ms, double value_us) {
  return !limit_ms || (value_us >= 0 && value_us <= *limit_ms * 1e3);
}

// Waits (bounded) until a started target listens on its port; a target that
// ends first is reported with its output. Empty when it listens.
std::string await_listening(const TargetConfig& t, const net::HttpUrl& url, TargetProcess& process,
                            const std::atomic<bool>* interrupt, bool& interrupted) {
  const std::int64_t start_deadline = monotonic_ns() + ms_ns(t.start_timeout_ms);
  for (;;) {
    if (net::connect_tcp(url.address.host, url.address.port, 100)) return {};
    if (!process.running()) {
      process.end_strays(500);  // named in how_it_ended()
      return fmt::format("the target ({}) ended before it listened on {}:{}: {}", process.how_it_ended(),
                         url.address.host, url.address.port, process.output_tail());
    }
    if (monotonic_ns() >= start_deadline)
      return fmt::format("the target did not listen on {}:{} within {} ms; its output: {}", url.address.host,
                         url.address.port, t.start_timeout_ms, process.output_tail());
    if (interrupt && interrupt->load()) {
      interrupted = true;
      return {};
    }
    sleep_ns(2'000'000);
  }
}

// Where a repetition's schedule starts: now (after a short lead), or the
// shards' common start time, with how late this shard came to it.
struct CommonStart {
  std::int64_t zero_ns = 0;
  std::optional<double> late_us, clock_error_bound_us;  // bound to a common start only
  std::string failure;
};

CommonStart common_start(const TargetConfig& t, std::uint32_t index) {
  CommonStart c;
  c.zero_ns = monotonic_ns() + kLeadNs;
  if (t.start_at <= 0) return c;
  timespec real{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  const double unix_now = double(real.tv_sec) + double(real.tv_nsec) / 1e9;
  const double start = t.start_at + double(index) * t.start_every_s;
  // A shard a little late starts at once: its streams were due at the
  // common time, and the lateness counts in their latencies. Much later, the
  // time was wrong.
  if (start < unix_now - kMaxLateStartS) {
    c.failure = fmt::format("the common start time {:.3f} (target.start_at) passed {:.1f} s ago", start, unix_now - start);
    return c;
  }
  c.zero_ns = monotonic_ns() + std::int64_t((start - unix_now) * 1e9);
  c.late_us = std::max(0.0, unix_now - start) * 1e6;
  c.clock_error_bound_us = clock_error_bound_s() * 1e6;
  return c;
}

// This shard's streams, dealt over the client threads, each with its due time.
std::vector<HttpClientPlan> client_plans(const Scenario& s, const net::HttpUrl& url, const std::vector<std::int64_t>& due) {
  const TargetConfig& t = s.target;
  const auto shard = parse_shard(t.shard).value_or(std::pair<std::uint32_t, std::uint32_t>{1, 1});
  const std::uint32_t threads = t.client_threads;
  std::vector<HttpClientPlan> plans(threads);
  for (auto& p : plans) {
    p.url = url;
    p.api = *net::stream_api_of(url.path);
    p.tokens = s.backend.messages;
    p.size = s.backend.size;
    p.multibyte = s.upstream.split_utf8;
    p.max_concurrent = t.max_concurrent ? (t.max_concurrent + threads - 1) / threads : 0;
    p.connect_timeout_ms = t.connect_timeout_ms;
    p.stream_timeout_ms = t.stream_timeout_ms;
    p.stall_at = s.faults.surface_stall_at;
    p.stall_ms = s.faults.surface_stall_ms;
  }
  std::uint32_t mine = 0;
  for (std::uint32_t i = 0; i < due.size(); ++i) {
    if (i % shard.second != shard.first - 1) continue;
    HttpClientPlan& p = plans[mine++ % threads];
    p.streams.push_back(i);
    p.due_ns.push_back(due[i]);
    // target.stalled_streams: that share of the streams, spread evenly.
    const double share = t.stalled_streams;
    p.stalls.push_back(std::floor(double(i + 1) * share) > std::floor(double(i) * share));
  }
  return plans;
}

// One stream's record: its end, its books against the answers it asked for
// (`asked`: their numbers in `answers`), its latencies into the histograms.
StreamRecord stream_record(const Scenario& s, const HttpStreamBooks& b, const std::vector<AnswerRecord>& answers,
                           const std::vector<std::size_t>& asked, std::int64_t zero, LatencyHistogram& corrected,
                           LatencyHistogram& uncorrected) {
  StreamRecord r;
  r.index = b.index;
  r.end = std::string(to_string(b.end));
  r.detail = b.detail;
  r.status = b.status;
  r.start_s = double(b.due_ns - zero) / 1e9;
  r.end_s = b.end_ns > 0 ? double(b.end_ns - zero) / 1e9 : 0;
  r.duplicated = double(b.duplicated);
  r.reordered = double(b.reordered);
  r.corrupted = double(b.corrupted);
  r.chunks = double(b.chunks);
  r.body_bytes = double(b.body_bytes);
  if (b.request_ns > 0) r.request_lag_us = double(b.request_ns - b.due_ns) / 1e3;
  double sent = 0;
  for (const std::size_t k : asked) {
    sent += double(answers[k].tokens_sent);
    r.chunks_upstream += double(answers[k].chunks_sent);
  }
  r.tokens_sent = sent;
  // Tokens of an answer this stream did not ask for went to the wrong client.
  const bool own = b.answer >= 0 && std::find(asked.begin(), asked.end(),
                                              std::size_t(b.answer)) != asked.end();
  if (b.answer >= 0 && !own) r.corrupted += double(b.delivered);
  if (own) {
    const AnswerRecord& a = answers[std::size_t(b.answer)];
    for (std::uint64_t i = 0; i < a.tokens_sent && i < b.received_ns.size(); ++i) {
      const std::int64_t got = b.received_ns[i];
      if (got == 0) continue;
      r.delivered += 1;
      corrected.record(got - a.intended_ns[i]);
      uncorrected.record(got - a.sent_ns[i]);
    }
  }
  r.missing = sent - r.delivered;
  if (b.first_token_ns > 0) r.ttft_us = double(b.first_token_ns - b.due_ns) / 1e3;
  if (!b.gaps_ns.empty()) {
    std::vector<double> gaps(b.gaps_ns.begin(), b.gaps_ns.end());
    r.itl_p50_us = percentile_of(gaps, 50) / 1e3;
    r.itl_p99_us = percentile_of(gaps, 99) / 1e3;
    r.itl_max_us = gaps.back() / 1e3;
    r.tpot_us = double(b.last_token_ns - b.first_token_ns) / double(b.gaps_ns.size()) / 1e3;
  }
  if (b.end_ns > 0) r.e2e_us = double(b.end_ns - b.due_ns) / 1e3;
  r.good = b.end == StreamEnd::done && r.missing == 0 && r.corrupted == 0 && meets(s.slo.ttft_ms, r.ttft_us) &&
           meets(s.slo.itl_p99_ms, r.itl_p99_us < 0 ? 0 : r.itl_p99_us) && meets(s.slo.e2e_ms, r.e2e_us);
  return r;
}

// Watches the clients until every stream ended, the target died, the
// repetition's timeout passed or the run was interrupted; why it stopped
// early, or empty.
std::string supervise(const std::vector<std::unique_ptr<HttpStreamClient>>& clients, TargetProcess* process,
                      const LlmServer& upstream, std::int64_t deadline, double timeout_s,
                      const std::atomic<bool>* interrupt, bool& interrupted) {
  for (;;) {
    if (std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->finished(); })) return {};
    if (interrupt && interrupt->load()) {
      interrupted = true;
      return {};
    }
    if (process && !process->running()) {
      process->end_strays(500);  // named in how_it_ended()
      return fmt::format("the target ended mid-run ({}); its output: {}", process->how_it_ended(), process->output_tail());
    }
    if (monotonic_ns() >= deadline) {
      std::uint64_t seen = 0;
      for (const auto& c : clients) seen += c->tokens_seen();
      return fmt::format("timeout after {} s: the upstream sent {} tokens, the clients saw {}", timeout_s,
                         upstream.tokens_sent(), seen);
    }
    sleep_ns(kTickNs);
  }
}

}  // namespace

void HttpTarget::check_before_run(const Scenario& s, double unix_now) const {
  const TargetConfig& t = s.target;
  const std::string where = s.source.empty() ? s.name : s.source;
  // Each stream holds a client's descriptor and the upstream's here (a
  // proxy's are its own); the soft limit is raised to the hard one.
  const std::uint64_t needed = 2 * std::uint64_t(s.backend.streams) + 64;
  if (const std::uint64_t limit = net::raise_descriptor_limit(); needed > limit)
    throw InputError(fmt::format("{}: backend.streams: {} streams need about {} open descriptors in this process, beyond its "
                                 "hard limit of {} (raise it with `ulimit -Hn` as root, or run fewer streams per shard)",
                                 where, s.backend.streams, needed, limit));
  if (s.starts_proxy() && t.url.find("{port}") == std::string::npos && t.url.find("{upstream}") == std::string::npos) {
    const auto url = net::parse_http_url(t.url);
    if (url && net::connect_tcp(url->address.host, url->address.port, 200))
      throw InputError(fmt::format("{}: target.url: {}:{} is already taken by another process: the proxy the scenario "
                                   "starts could not listen there and the run would measure whatever does (use {{port}})",
                                   where, url->address.host, url->address.port));
  }
  if (t.start_at > 0) {
    const double last_start = t.start_at + double(s.repetitions - 1) * t.start_every_s;
    if (last_start - unix_now > s.timeout_s)
      throw InputError(fmt::format("{}: target.start_at: the last repetition would start {:.0f} s from now, beyond the "
                                   "repetition's timeout_s ({} s): a run waits at most that long",
                                   where, last_start - unix_now, s.timeout_s));
  }
}

RepetitionOutcome HttpTarget::run_repetition(const Scenario& s, const RepetitionContext& context) const {
  const std::atomic<bool>* interrupt = context.interrupt;
  const std::uint32_t index = context.index;
  RepetitionOutcome out;
  const TargetConfig& t = s.target;
  std::optional<ScratchFolder> folder;
  std::optional<LlmServer> upstream_server;
  std::vector<std::pair<std::string, std::string>> values;
  std::optional<net::HttpUrl> url;
  std::unique_ptr<TargetProcess> process;
  const bool started = s.starts_proxy();
  try {
    folder.emplace();
    const net::HostPort listen = *net::parse_host_port(s.upstream.listen);
    upstream_server.emplace(answer_plan(s, 1), listen);
    // A proxy reaches an upstream that listens on every address through the loopback.
    const std::string host = listen.host == "0.0.0.0" ? "127.0.0.1" : listen.host;
    values = {{"{upstream}", fmt::format("{}:{}", host, upstream_server->port())},
              {"{port}", std::to_string(t.url.find("{port}") != std::string::npos ? free_port() : 0)},
              {"{dir}", folder->path().string()},
              {"{config}", (folder->path() / "proxy.conf").string()},
              {"{self}", own_executable().string()},
              {"{user}", user_name()}};
    url = net::parse_http_url(substitute(t.url, values));
    if (!url) throw std::runtime_error(fmt::format("target.url {} is not http://HOST:PORT/PATH", substitute(t.url, values)));
    if (!t.config_template.empty()) {
      std::ofstream config(folder->path() / "proxy.conf", std::ios::binary);
      config << substitute(read_text_file(t.config_template), values);
      if (!config.flush()) throw std::runtime_error("cannot write the proxy's config file");
    }
    if (started) {
      std::vector<std::string> argv;
      for (const std::string& arg : t.started_command()) argv.push_back(substitute(arg, values));
      process = std::make_unique<TargetProcess>(argv, t.env, folder->path());
    }
  } catch (const std::exception& e) {
    out.failure = e.what();
    return out;
  }
  LlmServer& upstream = *upstream_server;
  upstream.start();

  if (started) {
    out.failure = await_listening(t, *url, *process, interrupt, out.interrupted);
    if (!out.failure.empty() || out.interrupted) return out;
  }
  const pid_t pid = process ? process->pid() : 0;
  TargetSamples samples;  // the target process around the measured part
  samples.rss_before = pid ? sample_process(pid) : std::nullopt;
  std::optional<ProcessSampler> sampler;
  if (pid) sampler.emplace(pid, s.measure.sample_interval_ms);

  // The schedule: its zero is now, or the common start time of the shards.
  const CommonStart start = common_start(t, index);
  if (!start.failure.empty()) {
    out.failure = start.failure;
    return out;
  }
  const std::int64_t zero = start.zero_ns;
  const std::vector<std::int64_t> due = stream_schedule(s, zero);
  std::vector<HttpClientPlan> plans = client_plans(s, *url, due);
  std::vector<std::unique_ptr<HttpStreamClient>> clients;
  for (auto& p : plans) clients.push_back(std::make_unique<HttpStreamClient>(std::move(p)));

  samples.cpu_before = pid ? sample_process(pid) : std::nullopt;
  const RunnableCount runnable_before = sampler ? sampler->counts() : RunnableCount{};
  const CpuWindow window;
  for (auto& c : clients) c->start();
  const std::int64_t deadline = std::max(zero, monotonic_ns()) + std::int64_t(s.timeout_s * 1e9);
  out.failure = supervise(clients, process.get(), upstream, deadline, s.timeout_s, interrupt, out.interrupted);
  for (auto& c : clients) c->stop_and_join();
  samples.cpu_after = pid ? sample_process(pid) : std::nullopt;
  samples.runnable_share = sampler ? sampler->counts().share_since(runnable_before) : 0;
  const CpuUsage usage = window.close(kMinForeignWindowS);
  samples.rss_peak = sampler ? sampler->stop() : 0;
  samples.rss_end = pid ? sample_process(pid) : std::nullopt;
  if (process) process->stop(kStopGraceMs);
  upstream.stop();
  if (!out.failure.empty() || out.interrupted) return out;

  // --- the books, per stream ---------------------------------------------
  const std::vector<AnswerRecord> answers = upstream.answers();
  // Which answers each stream asked for, by the number in its prompt (a
  // proxy that retried asked twice; a stream may have got none).
  std::vector<std::vector<std::size_t>> answers_of(due.size());
  for (std::size_t k = 0; k < answers.size(); ++k)
    if (const auto n = stream_of_prompt(answers[k].prompt); n && *n < due.size()) answers_of[*n].push_back(k);
  LatencyHistogram corrected, uncorrected;
  std::vector<StreamRecord> records;
  for (const auto& client : clients)
    for (const HttpStreamBooks& b : client->books())
      records.push_back(stream_record(s, b, answers, answers_of[b.index], zero, corrected, uncorrected));
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.index < b.index; });

  Repetition& rep = out.repetition;
  Metrics& m = rep.metrics;
  set_stream_metrics(records, m);
  if (start.late_us) {
    m.set("common_start_late_us", *start.late_us);
    m.set("clock_error_bound_us", *start.clock_error_bound_us);
  }
  m.set("upstream_requests", double(upstream.generate_requests()));
  m.set("foreign_requests", double(upstream.foreign_requests()));
  m.set("upstream_connections_refused", double(upstream.refused_connections()));
  m.set("upstream_write_timeouts", double(std::count_if(answers.begin(), answers.end(), [](const auto& a) { return a.write_timed_out; })));
  if (s.measure.latency && corrected.count() > 0) {
    set_token_latency_metrics(corrected, m);
    m.set("latency_uncorrected_p99_us", double(uncorrected.value_at_percentile(99)) / 1e3);
    rep.latency_spectrum = spectrum_lines(corrected);
    rep.latency_histogram = encode_histogram(corrected);
  }
  set_process_metrics(samples, process.get(), usage, m);
  rep.streams = std::move(records);
  return out;
}

}  // namespace aiway
