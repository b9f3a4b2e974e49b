#include "calibrate/calibration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>
#include <immintrin.h>

#include <atomic>
#include <chrono>
#include <iterator>
#include <stdexcept>

#include "measure/process_stats.hpp"
#include "stages/generator.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {
namespace {

constexpr int kTries = 5;

// Keeps the compiler from dropping work whose result is unused.
template <typename T>
void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

struct Tries {
  std::vector<double> rates;
  double median() {
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  }
  double spread() {  // (max - min) / median
    std::sort(rates.begin(), rates.end());
    return (rates.back() - rates.front()) / rates[rates.size() / 2];
  }
};

double channel_rate(const Clock& clock, double scale) {
  const auto kTokens = std::uint64_t(1'000'000 * scale);
  constexpr std::size_t kBatch = 256;
  // moodycamel, as when the reference was measured: the score must not move
  // when the default channel does.
  TokenChannel channel(10'000, Overflow::block, clock, 2.0, ChannelImpl::moodycamel);
  const std::atomic<bool> never{false};
  const std::int64_t t0 = clock.now_ns();
  std::thread producer([&] {
    std::vector<Token> batch(kBatch);
    for (std::uint64_t sent = 0; sent < kTokens;) {
      const std::size_t n = std::size_t(std::min<std::uint64_t>(kBatch, kTokens - sent));
      for (std::size_t i = 0; i < n; ++i) {
        batch[i].seq = sent + i;
        batch[i].text = "msg";  // short: the hand-off is measured, not the copy
      }
      channel.push(batch.data(), n, never);
      sent += n;
    }
    channel.close();
  });
  std::vector<Token> out(kBatch);
  std::uint64_t received = 0;
  for (;;) {
    const auto r = channel.pop(out.data(), kBatch, EventCount::kForever, never);
    received += r.count;
    if (r.closed) break;
  }
  producer.join();
  const double seconds = double(clock.now_ns() - t0) / 1e9;
  if (received != kTokens) throw std::logic_error(fmt::format("calibration channel lost tokens: {}", received));
  return double(kTokens) / seconds;
}

double memcpy_rate(const Clock& clock, double scale) {
  const auto kBytes = std::size_t(double(64u << 20) * scale);
  constexpr int kPasses = 4;
  std::vector<char> from(kBytes, 1), to(kBytes, 0);  // both touched: page faults are not measured
  const std::int64_t t0 = clock.now_ns();
  for (int i = 0; i < kPasses; ++i) {
    std::memcpy(to.data(), from.data(), kBytes);
    keep(to[std::size_t(i)]);
  }
  return double(kBytes) * kPasses / (double(clock.now_ns() - t0) / 1e9);
}

double loop_rate(const Clock& clock, double scale) {
  const auto kSteps = std::uint64_t(100'000'000 * scale);
  std::uint64_t x = 0x9E3779B97F4A7C15u;
  const std::int64_t t0 = clock.now_ns();
  for (std::uint64_t i = 0; i < kSteps; ++i) {  // each step depends on the last: no vectorising
    x = x * 6364136223846793005u + 1442695040888963407u;
    x ^= x >> 29;
  }
  keep(x);
  return double(kSteps) / (double(clock.now_ns() - t0) / 1e9);
}

}  // namespace

double raw_hop_rate(std::uint64_t tokens, std::uint32_t size) {
  constexpr std::size_t kBatch = 256, kBound = 10'000;
  moodycamel::ConcurrentQueue<Token> queue(kBound + 2 * kBatch);
  moodycamel::ProducerToken producer(queue);
  std::atomic<bool> done{false};
  std::uint64_t received = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread consumer([&] {
    moodycamel::ConsumerToken token(queue);
    std::vector<Token> out(kBatch);
    for (;;) {
      const std::size_t k = queue.try_dequeue_bulk(token, out.data(), out.size());
      received += k;
      if (k > 0) continue;
      if (done.load(std::memory_order_acquire) && queue.size_approx() == 0) break;
      _mm_pause();  // an empty queue: do not hammer the producer's index
    }
  });
  std::vector<Token> batch(kBatch);
  MessageGenerator generator(size);  // the backend's own: counting up, not formatting each number
  for (std::uint64_t sent = 0; sent < tokens;) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(kBatch, tokens - sent));
    for (std::size_t i = 0; i < n; ++i) {
      batch[i].seq = sent + i;
      generator.write(sent + i, batch[i].text);
    }
    while (queue.size_approx() > kBound) _mm_pause();
    queue.enqueue_bulk(producer, std::make_move_iterator(batch.begin()), n);
    sent += n;
  }
  done.store(true, std::memory_order_release);
  consumer.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (received != tokens) throw std::logic_error(fmt::format("raw hop lost tokens: {} of {}", received, tokens));
  return double(tokens) / seconds;
}

double warm_raw_hop_rate(std::uint64_t tokens, std::uint32_t size) {
  raw_hop_rate(std::min<std::uint64_t>(tokens, 200'000), size);  // untimed: page faults, cold caches
  Tries tries;
  for (int i = 0; i < 3; ++i) tries.rates.push_back(raw_hop_rate(tokens, size));
  return tries.median();
}

double calibration_score(double channel_tokens_per_s, double memcpy_bytes_per_s, double loop_ops_per_s) {
  using R = CalibrationReference;
  return std::cbrt(channel_tokens_per_s / R::channel_tokens_per_s * memcpy_bytes_per_s / R::memcpy_bytes_per_s *
                   loop_ops_per_s / R::loop_ops_per_s);
}

Calibration calibrate(const Clock& clock, double scale) {
  // The parts take turns, so a change of the machine's state during the few
  // seconds reaches all three alike; the median of each part is its figure.
  const CpuWindow cpu_window;
  Tries channel, memcpy, loop, raw_hop_short, raw_hop_medium;
  for (int i = 0; i < kTries; ++i) {
    channel.rates.push_back(channel_rate(clock, scale));
    memcpy.rates.push_back(memcpy_rate(clock, scale));
    loop.rates.push_back(loop_rate(clock, scale));
    raw_hop_short.rates.push_back(raw_hop_rate(std::uint64_t(1'000'000 * scale), 10));
    raw_hop_medium.rates.push_back(raw_hop_rate(std::uint64_t(1'000'000 * scale), 100));
  }
  Calibration c;
  c.channel_tokens_per_s = channel.median();
  c.memcpy_bytes_per_s = memcpy.median();
  c.loop_ops_per_s = loop.median();
  c.raw_hop_short_tokens_per_s = raw_hop_short.median();
  c.raw_hop_medium_tokens_per_s = raw_hop_medium.median();
  c.score = calibration_score(c.channel_tokens_per_s, c.memcpy_bytes_per_s, c.loop_ops_per_s);
  c.spread = std::max({channel.spread(), memcpy.spread(), loop.spread()});
  const CpuUsage usage = cpu_window.close();
  c.foreign_cpu_share = usage.foreign_share;
  return c;
}

}  // namespace aiway
