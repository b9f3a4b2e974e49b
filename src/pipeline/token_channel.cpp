#include "pipeline/token_channel.hpp"

#include <immintrin.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <iterator>

namespace aiway {
namespace {
constexpr std::int64_t kRecheckNs = 50'000'000;  // sleeping sides re-check their flags at least this often
constexpr std::uint64_t kNothingLent = UINT64_MAX;

// Buffers past the kept size go back to the allocator instead of travelling on.
void trim_text(Token& token) {
  if (token.text.capacity() > TokenChannel::kKeptTextBytes) std::string().swap(token.text);
}
}  // namespace

TokenChannel::TokenChannel(std::size_t capacity, Overflow policy, const Clock& clock, double spin_us,
                           ChannelImpl impl, std::size_t max_take)
    : capacity_(capacity),
      max_take_(std::max<std::size_t>(max_take, 1)),
      policy_(policy),
      clock_(clock),
      spin_ns_(std::int64_t(spin_us * 1000)),
      impl_(impl),
      slots_(impl == ChannelImpl::ring ? capacity + max_take_ + 2 : 0),
      // The other queues leave moodycamel's unused: keep it minimal.
      queue_(impl == ChannelImpl::moodycamel ? capacity + 2 * moodycamel::ConcurrentQueueDefaultTraits::BLOCK_SIZE : 0, 1, 0),
      producer_(queue_),
      consumer_(queue_),
      taken_(in_place() ? 0 : max_take_) {}

// ---- the queue operations -----------------------------------------------------

void TokenChannel::enqueue(Token* items, std::size_t n) {
  const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (impl_ == ChannelImpl::ring) {
    std::size_t at = std::size_t(tail % slots_.size());
    for (std::size_t k = 0; k < n; ++k) {
      // A move-assignment: a slot's old buffer goes back to the producer's item.
      slots_[at] = std::move(items[k]);
      if (++at == slots_.size()) at = 0;
    }
  } else if (impl_ == ChannelImpl::moodycamel) {
    queue_.enqueue_bulk(producer_, std::make_move_iterator(items), n);
  } else {
    {
      const std::lock_guard lock(mutex_);
      locked_queue_.insert(locked_queue_.end(), std::make_move_iterator(items), std::make_move_iterator(items + n));
      tail_.store(tail + n, std::memory_order_release);  // under the mutex: the consumer checks it there
    }
    not_empty_.notify_one();
    return;
  }
  tail_.store(tail + n, std::memory_order_release);
}

std::size_t TokenChannel::try_take(std::size_t max) {
  max = std::min(max, max_take_);
  taken_in_place_ = false;
  if (impl_ == ChannelImpl::moodycamel) {
    const std::size_t n = queue_.try_dequeue_bulk(consumer_, taken_.data(), max);
    if (n > 0) head_.fetch_add(n, std::memory_order_acq_rel);
    taken_from_ = 0;
    taken_to_ = n;
    return n;
  }
  std::uint64_t head = head_.load(std::memory_order_acquire);
  std::size_t at = 0, n = 0;
  for (;;) {
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    if (tail == head) {
      // Only a lost CAS below leaves lent_from_ set: a consumer polling an
      // empty ring must not write the line the producer reads.
      if (lent_from_.load(std::memory_order_relaxed) != kNothingLent)
        lent_from_.store(kNothingLent, std::memory_order_release);
      return 0;
    }
    at = std::size_t(head % slots_.size());
    n = std::min<std::size_t>({std::size_t(tail - head), max, slots_.size() - at});
    // Published before head_ moves: a producer that sees the new head sees
    // which slots it must not overwrite.
    lent_from_.store(head, std::memory_order_seq_cst);
    if (in_place()) {
      head_.store(head + n, std::memory_order_release);  // the producer never moves head_ here
      taken_in_place_ = true;
      taken_from_ = at;
      taken_to_ = at + n;
      return n;
    }
    // Drop-oldest: the producer may have evicted the oldest meanwhile.
    if (head_.compare_exchange_weak(head, head + n, std::memory_order_acq_rel, std::memory_order_acquire)) break;
  }
  for (std::size_t k = 0; k < n; ++k) {
    taken_[k] = std::move(slots_[at + k]);
    trim_text(slots_[at + k]);
  }
  lent_from_.store(kNothingLent, std::memory_order_release);
  taken_from_ = 0;
  taken_to_ = n;
  return n;
}

bool TokenChannel::evict_oldest(Token& out) {
  if (impl_ == ChannelImpl::moodycamel) {
    if (!queue_.try_dequeue_from_producer(producer_, out)) return false;
    head_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  if (impl_ == ChannelImpl::mutex) {
    const std::lock_guard lock(mutex_);
    if (locked_queue_.empty()) return false;
    out = std::move(locked_queue_.front());
    locked_queue_.pop_front();
    head_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  std::uint64_t head = head_.load(std::memory_order_acquire);
  const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  do {
    if (head == tail) return false;
  } while (!head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel, std::memory_order_acquire));
  // The slot is this thread's now: the consumer takes only what it won by CAS.
  out = std::move(slots_[std::size_t(head % slots_.size())]);
  return true;
}

bool TokenChannel::data_available() const {
  if (impl_ == ChannelImpl::moodycamel) return queue_.size_approx() > 0;
  return tail_.load(std::memory_order_acquire) != head_.load(std::memory_order_acquire);
}

// ---- producer -----------------------------------------------------------------

// Both wake-ups take the mutex first: a waiter checks its flags under it, so a
// flag set just before it sleeps cannot be missed.
void TokenChannel::wake_consumer() {
  if (impl_ == ChannelImpl::mutex) {
    { const std::lock_guard lock(mutex_); }
    not_empty_.notify_all();
  }
  data_ready_.notify_all();
}

void TokenChannel::wake_producer() {
  if (impl_ == ChannelImpl::mutex) {
    { const std::lock_guard lock(mutex_); }
    not_full_.notify_all();
  }
  space_ready_.notify_all();
}

void TokenChannel::count_drop(const Token& token) {
  if (token.kind == TokenKind::data) ++stats_.dropped_data;
  else ++stats_.dropped_other;
}

// Ring slots the producer may write now without touching what the consumer
// holds. Only under drop-oldest can this bind before the capacity does, and
// only while the consumer is moving its items out (a few microseconds).
std::size_t TokenChannel::free_slots() const {
  if (impl_ != ChannelImpl::ring) return SIZE_MAX;
  const std::uint64_t lent = lent_from_.load(std::memory_order_acquire);
  if (lent == kNothingLent) return SIZE_MAX;
  const std::uint64_t used = tail_.load(std::memory_order_relaxed) - lent;
  return used >= slots_.size() ? 0 : std::size_t(slots_.size() - used);
}

// drop-oldest: evicts queued items until `wanted` places are free (or the queue
// is empty); returns the free places.
std::size_t TokenChannel::make_room(std::size_t wanted) {
  std::int64_t free = std::int64_t(capacity_) - depth();
  Token evicted;
  while (free < std::int64_t(wanted) && evict_oldest(evicted)) {
    count_drop(evicted);
    free = std::int64_t(capacity_) - depth();
  }
  return std::size_t(std::max<std::int64_t>(free, 0));
}

bool TokenChannel::wait_for_room(const std::atomic<bool>& cancel) {
  const std::int64_t start = clock_.now_ns();
  if (impl_ == ChannelImpl::mutex) {
    std::unique_lock lock(mutex_);
    while (depth() >= std::int64_t(capacity_) && !cancel.load(std::memory_order_acquire))
      not_full_.wait_for(lock, std::chrono::nanoseconds(kRecheckNs));
    stats_.blocked_ns += clock_.now_ns() - start;
    return !cancel.load(std::memory_order_acquire) || depth() < std::int64_t(capacity_);
  }
  const std::int64_t spin_until = start + spin_ns_;
  bool cancelled = false;
  while (true) {
    if (depth() < std::int64_t(capacity_)) break;
    if (cancel.load(std::memory_order_acquire)) {
      cancelled = true;
      break;
    }
    if (clock_.now_ns() < spin_until) {
      _mm_pause();
      continue;
    }
    const auto key = space_ready_.prepare_wait();
    if (depth() < std::int64_t(capacity_) || cancel.load(std::memory_order_acquire)) {
      space_ready_.cancel_wait();
      continue;
    }
    space_ready_.wait(key, kRecheckNs);
  }
  stats_.blocked_ns += clock_.now_ns() - start;
  return !cancelled;
}

std::size_t TokenChannel::push(Token* items, std::size_t n, const std::atomic<bool>& cancel) {
  std::size_t done = 0;
  while (done < n) {
    std::int64_t free = std::int64_t(capacity_) - depth();
    if (free <= 0) {
      if (policy_ == Overflow::block) {
        if (!wait_for_room(cancel)) return done;
        continue;
      }
      if (policy_ == Overflow::drop_newest) {
        count_drop(items[done]);
        items[done].text.clear();
        ++done;
        continue;
      }
      free = std::int64_t(make_room(n - done));
      if (free == 0) continue;  // raced with the consumer; depth has dropped meanwhile
    }
    const std::size_t slots = free_slots();
    if (slots == 0) {
      if (cancel.load(std::memory_order_acquire)) return done;
      sched_yield();  // the consumer is moving out what it took: let it finish
      continue;
    }
    const std::size_t chunk = std::min({std::size_t(free), slots, n - done});
    enqueue(items + done, chunk);
    stats_.max_depth = std::max(stats_.max_depth, depth());
    done += chunk;
    data_ready_.notify_all();
  }
  return done;
}

std::span<Token> TokenChannel::claim(std::size_t max, const std::atomic<bool>& cancel) {
  for (;;) {
    const std::int64_t free = std::int64_t(capacity_) - depth();
    if (free <= 0) {
      if (!wait_for_room(cancel)) return {};
      continue;
    }
    const std::size_t slots = free_slots();
    if (slots == 0) {  // not under block, where the ring always has the room (see slots_)
      if (cancel.load(std::memory_order_acquire)) return {};
      sched_yield();
      continue;
    }
    const std::size_t at = std::size_t(tail_.load(std::memory_order_relaxed) % slots_.size());
    const std::size_t n = std::min({std::size_t(free), slots, max, slots_.size() - at});
    return {&slots_[at], n};
  }
}

void TokenChannel::publish(std::size_t n) {
  if (n == 0) return;
  tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  stats_.max_depth = std::max(stats_.max_depth, depth());
  data_ready_.notify_all();
}

void TokenChannel::push_over_capacity(Token&& item) {
  while (free_slots() == 0) sched_yield();  // the ring has a slot for this; the consumer may still hold it
  enqueue(&item, 1);
  data_ready_.notify_all();
}

void TokenChannel::close() {
  closed_.store(true, std::memory_order_release);
  wake_consumer();
}

// ---- consumer -----------------------------------------------------------------

void TokenChannel::release() {
  if (taken_in_place_) {
    for (std::size_t k = taken_from_; k < taken_to_; ++k) trim_text(slots_[k]);
    lent_from_.store(kNothingLent, std::memory_order_release);
  } else {
    for (std::size_t k = 0; k < taken_to_; ++k) trim_text(taken_[k]);
  }
  taken_in_place_ = false;
  taken_from_ = taken_to_ = 0;
}

// The reference channel's consumer: no spinning, a condition variable.
TokenChannel::Taken TokenChannel::take_locked(std::size_t max, std::int64_t deadline_ns,
                                              const std::atomic<bool>& interrupt) {
  std::size_t n = 0;
  bool closed = false;
  {
    std::unique_lock lock(mutex_);
    while (locked_queue_.empty() && !closed_.load(std::memory_order_acquire) && !interrupt.load(std::memory_order_acquire)) {
      const std::int64_t now = clock_.now_ns();
      if (deadline_ns != EventCount::kForever && now >= deadline_ns) return {};
      const std::int64_t wait = deadline_ns == EventCount::kForever ? kRecheckNs : std::min(deadline_ns - now, kRecheckNs);
      not_empty_.wait_for(lock, std::chrono::nanoseconds(wait));
    }
    n = std::min({max, max_take_, locked_queue_.size()});
    std::move(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n), taken_.begin());
    locked_queue_.erase(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n));
    closed = n == 0 && closed_.load(std::memory_order_acquire);
    // Under the mutex: a producer checks the depth under it before it sleeps.
    if (n > 0) head_.fetch_add(n, std::memory_order_acq_rel);
  }
  if (n > 0) not_full_.notify_one();
  taken_to_ = n;
  return {std::span<Token>(taken_.data(), n), closed};
}

TokenChannel::Taken TokenChannel::take(std::size_t max, std::int64_t deadline_ns, const std::atomic<bool>& interrupt) {
  release();  // whatever the last take lent, in case the caller did not
  if (impl_ == ChannelImpl::mutex) return take_locked(max, deadline_ns, interrupt);
  const auto lent = [&](std::size_t n) {
    space_ready_.notify_all();
    Token* first = taken_in_place_ ? &slots_[taken_from_] : taken_.data();
    return Taken{std::span<Token>(first, n), false};
  };
  std::int64_t spin_until = -1;
  while (true) {
    if (const std::size_t n = try_take(max)) return lent(n);
    if (closed_.load(std::memory_order_acquire)) {
      // Everything pushed before close() is visible now: one last look.
      if (const std::size_t n = try_take(max)) return lent(n);
      return {{}, true};
    }
    if (interrupt.load(std::memory_order_acquire)) return {};
    const std::int64_t now = clock_.now_ns();
    if (deadline_ns != EventCount::kForever && now >= deadline_ns) return {};
    if (spin_until < 0) spin_until = now + spin_ns_;
    if (now < spin_until) {
      _mm_pause();
      continue;
    }
    const auto key = data_ready_.prepare_wait();
    if (data_available() || closed_.load(std::memory_order_acquire) || interrupt.load(std::memory_order_acquire)) {
      data_ready_.cancel_wait();
      continue;
    }
    data_ready_.wait(key, deadline_ns == EventCount::kForever ? kRecheckNs : std::min(deadline_ns - now, kRecheckNs));
  }
}

TokenChannel::PopResult TokenChannel::pop(Token* out, std::size_t max, std::int64_t deadline_ns,
                                          const std::atomic<bool>& interrupt) {
  const Taken taken = take(max, deadline_ns, interrupt);
  std::move(taken.items.begin(), taken.items.end(), out);
  release();
  return {taken.items.size(), taken.closed};
}

std::uint64_t TokenChannel::drain(const std::atomic<bool>& aborted) {
  std::uint64_t discarded = 0;
  while (!aborted.load(std::memory_order_acquire)) {
    const Taken taken = take(max_take_, clock_.now_ns() + kRecheckNs, aborted);
    for (const Token& token : taken.items) discarded += token.kind == TokenKind::data;
    release();
    if (taken.closed) break;
  }
  return discarded;
}

}  // namespace aiway
