// A bounded single-producer single-consumer channel of Tokens. The capacity is
// exact, the overflow policy is applied by the producer, and every drop is
// counted at the moment it happens. Waiting spins briefly, then sleeps on a
// futex: these machines have 2 cores and the pipeline has more threads than that.
//
// The default queue is a ring of Token slots that the consumer reads in place:
// take() lends it a span of slots and release() gives them back, so a token
// is moved once into the channel and never out of it. Slots keep their
// strings' buffers, so text up to kKeptTextBytes travels without a heap
// allocation once the ring has warmed up. Under drop-oldest (where the
// producer takes items back) and on the moodycamel and mutex queues, take()
// moves the items into a buffer of the channel's and lends that instead: the
// same interface, one move more.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/token.hpp"
#include "measure/clock.hpp"
#include "pipeline/event_count.hpp"

namespace aiway {

// The producer's side of a channel: what a stage driver pushes into. A
// TokenChannel is one; a CanaryInjector (pipeline/canary_injector.hpp) wraps
// one to plant faults on the way in.
class TokenChannel;
class TokenProducer {
 public:
  virtual ~TokenProducer() = default;
  // Moves items[0..n) in; see TokenChannel::push.
  virtual std::size_t push(Token* items, std::size_t n, const std::atomic<bool>& cancel) = 0;
  virtual void close() = 0;
  virtual void wake_consumer() = 0;
  // The channel whose slots a producer may build items in (claim/publish):
  // one that writes in place, reached with nothing rewriting items on the
  // way. Null: items are pushed.
  virtual TokenChannel* in_place() { return nullptr; }
};

struct ChannelStats {
  std::uint64_t dropped_data = 0;    // data tokens dropped by the overflow policy
  std::uint64_t dropped_other = 0;   // terminal items and commands dropped by the policy
  std::int64_t max_depth = 0;
  std::int64_t blocked_ns = 0;       // producer time spent waiting for room (block policy)
};

class TokenChannel final : public TokenProducer {
 public:
  // A slot whose text grew past this is emptied when the consumer releases
  // it, so the ring holds at most (capacity + max_take) * this in buffers.
  static constexpr std::size_t kKeptTextBytes = 1024;

  // max_take: the most items one take() lends (the consumer's batch).
  TokenChannel(std::size_t capacity, Overflow policy, const Clock& clock, double spin_us,
               ChannelImpl impl = ChannelImpl::ring, std::size_t max_take = 256);
  TokenChannel(const TokenChannel&) = delete;
  TokenChannel& operator=(const TokenChannel&) = delete;

  // Producer side (one thread). Moves items[0..n) in, applying the overflow
  // policy. Under `block` it waits for room; it gives up when `cancel` becomes
  // true and returns how many items it pushed (the rest stay in `items`).
  std::size_t push(Token* items, std::size_t n, const std::atomic<bool>& cancel) override;
  // Producer side, when writes_in_place(): up to `max` slots to build the next
  // items in (fewer at the ring's end or near the capacity), after waiting for
  // room as push() does; empty when `cancel` became true. Write every field the
  // consumer reads: a slot holds whatever it held before.
  std::span<Token> claim(std::size_t max, const std::atomic<bool>& cancel);
  // The first n slots of the last claim() hold items now: the consumer may take them.
  void publish(std::size_t n);
  bool writes_in_place() const { return impl_ == ChannelImpl::ring && policy_ == Overflow::block; }
  TokenChannel* in_place() override { return writes_in_place() ? this : nullptr; }
  // One item past the capacity, never waiting for the consumer (a planted fault's last token).
  void push_over_capacity(Token&& item);
  // No more items will be pushed; the consumer sees `closed` once it has drained.
  void close() override;

  struct Taken {
    std::span<Token> items;  // the consumer's until release(); may be changed in place
    bool closed = false;     // the producer closed the channel and it is empty
  };
  // Consumer side (one thread). Lends up to min(max, max_take) items, oldest
  // first. Returns with none when closed, at deadline_ns (on the channel's
  // Clock; kForever for none), or when `interrupt` is true (the caller then
  // checks its control lane). Call release() before the next take().
  Taken take(std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt);
  // The items of the last take() are done with: their slots may be reused.
  void release();

  struct PopResult {
    std::size_t count = 0;
    bool closed = false;
  };
  // take() + moving the items to `out` + release(): for consumers that keep items.
  PopResult pop(Token* out, std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt);

  // Consumer side, at shutdown: takes and discards everything until the
  // producer closes the channel (or `aborted`); returns the data tokens
  // discarded, so every token stays accounted for.
  std::uint64_t drain(const std::atomic<bool>& aborted);

  // Wakes a sleeping consumer / producer so it re-checks its control flags.
  void wake_consumer() override;
  void wake_producer();

  std::size_t capacity() const { return capacity_; }
  // Items pushed and not yet taken (any thread; a snapshot).
  std::int64_t depth() const {
    return std::int64_t(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }
  // Read after the producer thread has finished.
  const ChannelStats& stats() const { return stats_; }

 private:
  bool in_place() const { return impl_ == ChannelImpl::ring && policy_ != Overflow::drop_oldest; }
  void count_drop(const Token& token);
  std::size_t free_slots() const;
  std::size_t make_room(std::size_t wanted);
  bool wait_for_room(const std::atomic<bool>& cancel);
  bool data_available() const;
  // The queue operations, on whichever implementation this channel uses.
  void enqueue(Token* items, std::size_t n);
  std::size_t try_take(std::size_t max);
  bool evict_oldest(Token& out);
  Taken take_locked(std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt);

  const std::size_t capacity_;
  const std::size_t max_take_;
  const Overflow policy_;
  const Clock& clock_;
  const std::int64_t spin_ns_;
  const ChannelImpl impl_;

  // ChannelImpl::ring: capacity + max_take + 2 slots, so the producer never
  // waits for slots the consumer still holds (one over capacity included).
  std::vector<Token> slots_;
  // ChannelImpl::moodycamel.
  moodycamel::ConcurrentQueue<Token> queue_;
  moodycamel::ProducerToken producer_;
  moodycamel::ConsumerToken consumer_;
  // ChannelImpl::mutex: the reference channel.
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Token> locked_queue_;

  // Items [0, tail_) were pushed and [0, head_) taken (or evicted). The
  // producer writes tail_; the consumer head_ (the producer too, by CAS under
  // drop-oldest, and by fetch_add on the other queues) and lent_from_: the
  // first ring position it holds (UINT64_MAX: none), which the producer's
  // writes stay less than one ring's length ahead of.
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<std::uint64_t> head_{0};
  std::atomic<std::uint64_t> lent_from_{UINT64_MAX};
  alignas(64) std::atomic<bool> closed_{false};
  // Each side's notify is an RMW on its own event count (the producer's on
  // data_ready_, the consumer's on space_ready_): on one cache line, every
  // batch would pull the line across cores twice.
  alignas(64) EventCount data_ready_;
  alignas(64) EventCount space_ready_;
  // The consumer's: what its last take() lent.
  alignas(64) std::uint64_t taken_from_ = 0, taken_to_ = 0;
  bool taken_in_place_ = false;
  std::vector<Token> taken_;  // items moved out of the queue (not in place)
  alignas(64) ChannelStats stats_;  // written by the producer only
};

}  // namespace aiway
