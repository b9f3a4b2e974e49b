// Micro-benchmarks of the hot-path pieces, and the whole pipeline beside one
// raw moodycamel hop, so their ratio is measured in the same run.
//   build/release/aiway-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <concurrentqueue/concurrentqueue.h>
#include <immintrin.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "aiway/latency_histogram.hpp"
#include "aiway/scenario_file.hpp"
#include "calibrate/calibration.hpp"
#include "measure/clock.hpp"
#include "pipeline/content_hash.hpp"
#include "pipeline/event_count.hpp"
#include "stages/command_parser.hpp"
#include "stages/generator.hpp"
#include "pipeline/pipeline.hpp"
#include "stages/resolve.hpp"
#include "pipeline/token_channel.hpp"
#include "net/http.hpp"
#include "upstream/llm_server.hpp"
#include "upstream/token_text.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {

void BM_ClockNow_Tsc(benchmark::State& state) {
  const Clock clock = Clock::detect();
  if (clock.source() != Clock::Source::tsc) state.SkipWithError("no invariant TSC on this machine");
  for (auto _ : state) benchmark::DoNotOptimize(clock.now_ns());
}
BENCHMARK(BM_ClockNow_Tsc);

void BM_ClockNow_SteadyClock(benchmark::State& state) {
  const Clock clock = Clock::steady();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now_ns());
}
BENCHMARK(BM_ClockNow_SteadyClock);

void BM_HistogramRecord(benchmark::State& state) {
  LatencyHistogram h;
  std::int64_t v = 12'345;
  for (auto _ : state) {
    h.record(v);
    v = (v * 1'103'515'245 + 12'345) & 0xFFFFFFF;  // spread over many buckets
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

void BM_Generate(benchmark::State& state) {
  const auto size = std::uint32_t(state.range(0));
  std::string out;
  std::uint64_t i = 0;
  for (auto _ : state) {
    generate_message(size, i++ % 1'000'000, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Generate)->Arg(10)->Arg(100)->Arg(10'000);

// What the mock backend does: message after message, counted up in place.
void BM_GenerateCounting(benchmark::State& state) {
  const auto size = std::uint32_t(state.range(0));
  MessageGenerator generator(size);
  std::string out;
  std::uint64_t i = 0;
  for (auto _ : state) {
    generator.write(i++ % 1'000'000, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenerateCounting)->Arg(10)->Arg(100);

// The pipeline's hash (inlined) and the same hash through the library call.
void BM_IntegrityHash(benchmark::State& state) {
  std::string text;
  generate_message(std::uint32_t(state.range(0)), 123, text);
  for (auto _ : state) {
    benchmark::DoNotOptimize(text.data());
    benchmark::DoNotOptimize(content_hash(text));
  }
  state.SetBytesProcessed(state.iterations() * std::int64_t(text.size()));
}
BENCHMARK(BM_IntegrityHash)->Arg(10)->Arg(100)->Arg(10'000);

void BM_IntegrityHashLibraryCall(benchmark::State& state) {
  std::string text;
  generate_message(std::uint32_t(state.range(0)), 123, text);
  for (auto _ : state) {
    benchmark::DoNotOptimize(text.data());
    benchmark::DoNotOptimize(XXH3_64bits(text.data(), text.size()));
  }
  state.SetBytesProcessed(state.iterations() * std::int64_t(text.size()));
}
BENCHMARK(BM_IntegrityHashLibraryCall)->Arg(10)->Arg(100);

void BM_CommandParser(benchmark::State& state) {
  // range(0) == 1: every 16th token carries a command, every second one split.
  std::vector<std::string> tokens;
  for (int i = 0; i < 1024; ++i) {
    std::string t = "msg" + std::to_string(i);
    if (state.range(0) && i % 16 == 0) t += (i % 32 == 0) ? "[yolla:mood happy]" : "[yolla:mo";
    if (state.range(0) && i % 16 == 1 && i % 32 != 1) t.insert(0, "od happy]");
    tokens.push_back(t);
  }
  CommandParser parser;
  std::string clean;
  std::size_t commands = 0, i = 0;
  for (auto _ : state) {
    clean.clear();
    parser.feed(tokens[i++ & 1023], clean, [&](const AvatarCommand&) { ++commands; });
    benchmark::DoNotOptimize(clean.data());
  }
  state.counters["commands"] = double(commands);
}
BENCHMARK(BM_CommandParser)->Arg(0)->Arg(1);

Token make_token(std::uint64_t i) {
  Token t;
  t.seq = i;
  generate_message(10, i, t.text);
  return t;
}

// One producer thread pushing bulk batches of short tokens, one consumer
// thread taking them: the TokenChannel (exact capacity, policy, waits) on
// each queue: impl 0 the ring read in place, 1 moodycamel (both spin, then
// futex), 2 the mutex + condition variable reference.
void BM_TokenChannelSpsc(benchmark::State& state) {
  const Clock clock = Clock::detect();
  const ChannelImpl impls[] = {ChannelImpl::ring, ChannelImpl::moodycamel, ChannelImpl::mutex};
  const ChannelImpl impl = impls[state.range(0)];
  TokenChannel channel(10'000, Overflow::block, clock, 2, impl);
  const std::atomic<bool> never{false};
  std::atomic<std::uint64_t> popped{0};
  std::thread consumer([&] {
    while (true) {  // as the pipeline's stages consume: take, look, release
      const auto taken = channel.take(256, EventCount::kForever, never);
      popped.fetch_add(taken.items.size(), std::memory_order_relaxed);
      channel.release();
      if (taken.closed) return;
    }
  });
  std::vector<Token> batch(256);
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (auto& t : batch) t = make_token(i++);
    channel.push(batch.data(), batch.size(), never);
  }
  channel.close();
  consumer.join();
  state.SetItemsProcessed(std::int64_t(popped.load()));
}
BENCHMARK(BM_TokenChannelSpsc)->ArgName("impl")->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

// The seed's tokens of size range(0) through a bare moodycamel queue,
// spinning, no bound but a spin, no accounting: the floor that the pipeline
// is compared with (the probe `aiway-stress calibrate` reports).
void BM_RawMoodycamelHop(benchmark::State& state) {
  constexpr std::uint64_t kTokens = 200'000;
  const auto size = std::uint32_t(state.range(0));
  for (auto _ : state) state.SetIterationTime(double(kTokens) / raw_hop_rate(kTokens, size));
  state.SetItemsProcessed(std::int64_t(state.iterations() * kTokens));
}
BENCHMARK(BM_RawMoodycamelHop)->ArgName("size")->Arg(10)->Arg(100)->UseManualTime()->Unit(benchmark::kMillisecond);

// The whole pipeline (two hops, parsing, transcript, integrity, display) on a
// 1m-short workload of 200,000 tokens; range(0) switches latency metering.
void BM_Pipeline1mShort(benchmark::State& state) {
  Scenario s = parse_scenario("[backend]\nmessages = 200000\nsize = 10\ncommands = 10\n", "bench");
  s.measure.latency = state.range(0) != 0;
  const Clock clock = Clock::detect();
  std::int64_t tokens = 0;
  for (auto _ : state) {
    Pipeline pipeline(s, clock, make_stages(s));
    const auto t0 = std::chrono::steady_clock::now();
    pipeline.start();
    pipeline.wait_until(monotonic_ns() + 60'000'000'000);
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    tokens += std::int64_t(pipeline.surface().delivered);
  }
  state.SetItemsProcessed(tokens);
}
BENCHMARK(BM_Pipeline1mShort)->ArgName("latency")->Arg(1)->Arg(0)->UseManualTime()->Unit(benchmark::kMillisecond);

// The floor of a paced pipeline's CPU: one window of rapid-tokens with no
// tokens in it. The benchmark thread sleeps to each 1 ms deadline (as the
// paced backend does) and wakes the next stage through an EventCount (as a
// channel's publish does), which wakes the one after it: stages = 1 is the
// timer alone, 3 the backend -> conductor -> surface chain. Counters: the
// process's CPU time (every thread, user + system) per window, and that as a
// share of a 2-CPU machine's time.
void BM_PacedWakeChain(benchmark::State& state) {
  struct Stage {
    std::atomic<std::uint64_t> posted{0};
    EventCount ready;
  };
  const auto stages = int(state.range(0));
  std::vector<Stage> chain(static_cast<std::size_t>(stages));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int k = 1; k < stages; ++k) {
    threads.emplace_back([&, k] {
      Stage& in = chain[std::size_t(k)];
      Stage* out = k + 1 < stages ? &chain[std::size_t(k) + 1] : nullptr;
      std::uint64_t seen = 0;
      while (!stop.load(std::memory_order_acquire)) {
        const auto key = in.ready.prepare_wait();
        if (in.posted.load(std::memory_order_acquire) == seen && !stop.load(std::memory_order_acquire)) {
          in.ready.wait(key, EventCount::kForever);
          continue;
        }
        in.ready.cancel_wait();
        seen = in.posted.load(std::memory_order_acquire);
        if (out) {
          out->posted.fetch_add(1, std::memory_order_release);
          out->ready.notify_all();
        }
      }
    });
  }
  const auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  };
  timespec due{};
  clock_gettime(CLOCK_MONOTONIC, &due);
  const double cpu0 = cpu_seconds();
  for (auto _ : state) {
    due.tv_nsec += 1'000'000;
    if (due.tv_nsec >= 1'000'000'000) {
      due.tv_nsec -= 1'000'000'000;
      ++due.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nullptr);
    if (stages > 1) {
      chain[1].posted.fetch_add(1, std::memory_order_release);
      chain[1].ready.notify_all();
    }
  }
  const double cpu = cpu_seconds() - cpu0;
  stop.store(true, std::memory_order_release);
  for (int k = 1; k < stages; ++k) {
    chain[std::size_t(k)].posted.fetch_add(1, std::memory_order_release);
    chain[std::size_t(k)].ready.notify_all();
  }
  for (auto& t : threads) t.join();
  const double windows = double(state.iterations());
  state.counters["cpu_us_per_window"] = cpu / windows * 1e6;
  state.counters["share_of_2_cpus_pct"] = cpu / (windows * 1e-3) / 2 * 100;
}
BENCHMARK(BM_PacedWakeChain)->ArgName("stages")->Arg(1)->Arg(2)->Arg(3)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// What a harness surface does per frame of a conductor target: deframe (CRC
// included), decode the Token, recover its sequence number and check every
// byte of its text. Items are frames; the target is >= 1 M/s on one core.
// field_order:1 puts "text" first, so every frame takes the full JSON parser.
void BM_SurfaceDecodeTokenFrames(benchmark::State& state) {
  std::string stream, text, json;
  constexpr int kFrames = 10'000;
  for (int i = 0; i < kFrames; ++i) {
    token_text(std::uint64_t(i), 10, false, text);
    json.clear();
    if (state.range(0) == 0) {
      wire::append_token_message(json, "msg_2", text);
    } else {
      json = R"({"Token":{"text":)";
      wire::append_json_string(json, text);
      json += R"(,"message_id":"msg_2"}})";
    }
    wire::append_frame(stream, json);
  }
  wire::ConductorMessage m;
  std::string expected;
  std::int64_t frames = 0, bad = 0;
  for (auto _ : state) {
    wire::FrameDecoder decoder;
    for (std::size_t at = 0; at < stream.size(); at += 64 * 1024) {
      decoder.feed(stream.data() + at, std::min<std::size_t>(64 * 1024, stream.size() - at));
      while (decoder.next() == wire::FrameDecoder::Status::frame) {
        const bool ok = wire::parse_conductor_message(decoder.payload(), m);
        const auto seq = token_seq(m.text);
        token_text(seq.value_or(0), 10, false, expected);
        bad += !ok || !seq || expected != m.text;
        ++frames;
      }
    }
  }
  if (bad > 0) state.SkipWithError("a frame did not decode to its token");
  state.SetItemsProcessed(frames);
}
BENCHMARK(BM_SurfaceDecodeTokenFrames)->ArgName("field_order")->Arg(0)->Arg(1);

// The harness's upstream read directly, nothing between: one answer of
// 200,000 short tokens over loopback HTTP, chunked NDJSON, read by a Beast
// parser and split into lines. The ceiling of the upstream side of a target.
void BM_UpstreamDirect(benchmark::State& state) {
  namespace http = net::http;
  AnswerPlan plan;
  plan.tokens = 200'000;
  plan.tokens_per_chunk = std::uint32_t(state.range(0));
  LlmServer server(plan);
  server.start();
  std::int64_t lines = 0;
  for (auto _ : state) {
    net::Fd fd = net::connect_tcp("127.0.0.1", server.port(), 5000);
    const std::string request =
        "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    net::send_all(fd.get(), request, 5000);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    std::string pending;
    boost::beast::error_code ec;
    char buffer[64 * 1024];
    while (!parser.is_done()) {
      std::size_t got = 0;
      if (net::receive_some(fd.get(), buffer, sizeof buffer, got, 10'000) != net::IoStatus::ok) break;
      pending.append(buffer, got);
      net::put_pending(parser, pending, ec);
      std::string& body = parser.get().body();
      lines += std::int64_t(std::count(body.begin(), body.end(), '\n'));
      body.clear();
    }
  }
  server.stop();
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_UpstreamDirect)->ArgName("tokens_per_chunk")->Arg(1)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

// The kernel's floor under a paced token on the loopback: a thread sleeps to
// each token's due time and writes it (180 bytes, an SSE event's size) on a
// TCP connection; another waits in epoll and reads it. Two wake-ups, one
// write and one read per token, nothing else: what the harness's upstream
// and client cannot go below when every token is due at its own instant.
// Counter: the process's CPU (all threads, user + system) per token.
void BM_PacedLoopbackFloor(benchmark::State& state) {
  const std::int64_t period_ns = 1'000'000'000 / state.range(0);
  net::Fd listener = net::listen_tcp("127.0.0.1", 0, 16);
  net::Fd writer = net::connect_tcp("127.0.0.1", net::local_port(listener.get()), 2000);
  net::Fd reader = net::accept_within(listener.get(), 2000);
  const std::string token(180, 'x');
  std::int64_t tokens = 0;
  double cpu_s = 0;
  for (auto _ : state) {
    constexpr int kTokens = 6400;
    std::thread read_side([&] {
      const int ep = ::epoll_create1(0);
      epoll_event e{EPOLLIN, {.fd = reader.get()}};
      ::epoll_ctl(ep, EPOLL_CTL_ADD, reader.get(), &e);
      char buffer[4096];
      std::size_t got = 0;
      while (got < kTokens * token.size()) {
        epoll_event ready;
        if (::epoll_wait(ep, &ready, 1, 2000) <= 0) break;
        const ssize_t n = ::recv(reader.get(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) got += std::size_t(n);
      }
      ::close(ep);
    });
    timespec t0{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    std::int64_t due = monotonic_ns();
    for (int i = 0; i < kTokens; ++i) {
      due += period_ns;
      const timespec at{time_t(due / 1'000'000'000), long(due % 1'000'000'000)};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);
      ::send(writer.get(), token.data(), token.size(), MSG_NOSIGNAL);
    }
    read_side.join();
    timespec t1{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu_s += double(t1.tv_sec - t0.tv_sec) + double(t1.tv_nsec - t0.tv_nsec) / 1e9;
    tokens += kTokens;
  }
  state.counters["cpu_us_per_token"] = cpu_s / double(tokens) * 1e6;
  state.SetItemsProcessed(tokens);
}
BENCHMARK(BM_PacedLoopbackFloor)->ArgName("tokens_per_s")->Arg(6400)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aiway

BENCHMARK_MAIN();
