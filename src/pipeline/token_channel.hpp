// A bounded single-producer single-consumer channel of Tokens on a moodycamel
// ConcurrentQueue. The capacity is exact (moodycamel's own bound is per block),
// the overflow policy is applied by the producer, and every drop is counted at
// the moment it happens. Waiting spins briefly, then sleeps on a futex: these
// machines have 2 cores and the pipeline has more threads than that.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <cstdint>
#include <optional>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/token.hpp"
#include "measure/clock.hpp"
#include "pipeline/event_count.hpp"

namespace aiway {

// The producer's side of a channel: what a stage driver pushes into. A
// TokenChannel is one; a CanaryInjector (pipeline/canary_injector.hpp) wraps
// one to plant faults on the way in.
class TokenProducer {
 public:
  virtual ~TokenProducer() = default;
  // Moves items[0..n) in; see TokenChannel::push.
  virtual std::size_t push(Token* items, std::size_t n, const std::atomic<bool>& cancel) = 0;
  virtual void close() = 0;
  virtual void wake_consumer() = 0;
};

struct ChannelStats {
  std::uint64_t dropped_data = 0;    // data tokens dropped by the overflow policy
  std::uint64_t dropped_other = 0;   // terminal items and commands dropped by the policy
  std::int64_t max_depth = 0;
  std::int64_t blocked_ns = 0;       // producer time spent waiting for room (block policy)
};

class TokenChannel final : public TokenProducer {
 public:
  TokenChannel(std::size_t capacity, Overflow policy, const Clock& clock, double spin_us,
               ChannelImpl impl = ChannelImpl::moodycamel);
  TokenChannel(const TokenChannel&) = delete;
  TokenChannel& operator=(const TokenChannel&) = delete;

  // Producer side (one thread). Moves items[0..n) in, applying the overflow
  // policy. Under `block` it waits for room; it gives up when `cancel` becomes
  // true and returns how many items it pushed (the rest stay in `items`).
  std::size_t push(Token* items, std::size_t n, const std::atomic<bool>& cancel) override;
  // One item past the capacity, never waiting (a planted fault's last token).
  void push_over_capacity(Token&& item);
  // No more items will be pushed; the consumer sees `closed` once it has drained.
  void close() override;

  struct PopResult {
    std::size_t count = 0;
    bool closed = false;  // the producer closed the channel and it is empty
  };
  // Consumer side (one thread). Moves up to `max` items into `out`. Returns with
  // count 0 when closed, at deadline_ns (on the channel's Clock; kForever for none), or
  // when `interrupt` is true (the caller then checks its control lane).
  PopResult pop(Token* out, std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt);

  // Consumer side, at shutdown: pops and discards everything until the producer
  // closes the channel (or `aborted`); returns the data tokens discarded, so
  // every token stays accounted for.
  std::uint64_t drain(Token* scratch, std::size_t size, const std::atomic<bool>& aborted);

  // Wakes a sleeping consumer / producer so it re-checks its control flags.
  void wake_consumer() override;
  void wake_producer();

  std::size_t capacity() const { return capacity_; }
  const std::atomic<std::int64_t>& depth() const { return depth_; }
  // Read after the producer thread has finished.
  const ChannelStats& stats() const { return stats_; }

 private:
  void count_drop(const Token& token);
  std::size_t make_room(std::size_t wanted);
  bool wait_for_room(const std::atomic<bool>& cancel);
  // The queue operations, on whichever implementation this channel uses.
  void enqueue_bulk(Token* items, std::size_t n);
  void enqueue_one(Token&& item);
  std::size_t try_dequeue_bulk(Token* out, std::size_t max);
  bool evict_oldest(Token& out);
  PopResult pop_locked(Token* out, std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt);

  const std::size_t capacity_;
  const Overflow policy_;
  const Clock& clock_;
  const std::int64_t spin_ns_;

  const ChannelImpl impl_;
  moodycamel::ConcurrentQueue<Token> queue_;
  moodycamel::ProducerToken producer_;
  moodycamel::ConsumerToken consumer_;
  // ChannelImpl::mutex: the reference channel.
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Token> locked_queue_;

  // Items pushed minus items popped: never below the true queue length, so the
  // producer that reads it can never overfill the channel.
  alignas(64) std::atomic<std::int64_t> depth_{0};
  alignas(64) std::atomic<bool> closed_{false};
  EventCount data_ready_;
  EventCount space_ready_;
  alignas(64) ChannelStats stats_;  // written by the producer only
};

}  // namespace aiway
