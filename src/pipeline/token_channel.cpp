#include "pipeline/token_channel.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>

namespace aiway {
namespace {
constexpr std::int64_t kRecheckNs = 50'000'000;  // sleeping sides re-check their flags at least this often
}

TokenChannel::TokenChannel(std::size_t capacity, Overflow policy, const Clock& clock, double spin_us,
                           ChannelImpl impl)
    : capacity_(capacity),
      policy_(policy),
      clock_(clock),
      spin_ns_(std::int64_t(spin_us * 1000)),
      impl_(impl),
      // The mutex channel leaves moodycamel's queue unused: keep it minimal.
      queue_(impl == ChannelImpl::moodycamel ? capacity + 2 * moodycamel::ConcurrentQueueDefaultTraits::BLOCK_SIZE : 0, 1, 0),
      producer_(queue_),
      consumer_(queue_) {}

void TokenChannel::enqueue_bulk(Token* items, std::size_t n) {
  if (impl_ == ChannelImpl::moodycamel) {
    queue_.enqueue_bulk(producer_, std::make_move_iterator(items), n);
    return;
  }
  {
    const std::lock_guard lock(mutex_);
    locked_queue_.insert(locked_queue_.end(), std::make_move_iterator(items), std::make_move_iterator(items + n));
  }
  not_empty_.notify_one();
}

void TokenChannel::enqueue_one(Token&& item) { enqueue_bulk(&item, 1); }

std::size_t TokenChannel::try_dequeue_bulk(Token* out, std::size_t max) {
  if (impl_ == ChannelImpl::moodycamel) return queue_.try_dequeue_bulk(consumer_, out, max);
  const std::lock_guard lock(mutex_);
  const std::size_t n = std::min(max, locked_queue_.size());
  std::move(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n), out);
  locked_queue_.erase(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n));
  return n;
}

bool TokenChannel::evict_oldest(Token& out) {
  if (impl_ == ChannelImpl::moodycamel) return queue_.try_dequeue_from_producer(producer_, out);
  const std::lock_guard lock(mutex_);
  if (locked_queue_.empty()) return false;
  out = std::move(locked_queue_.front());
  locked_queue_.pop_front();
  return true;
}

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

// drop-oldest: evicts queued items until `wanted` slots are free (or the queue
// is empty); returns the free slots.
std::size_t TokenChannel::make_room(std::size_t wanted) {
  std::int64_t free = std::int64_t(capacity_) - depth_.load(std::memory_order_acquire);
  Token evicted;
  while (free < std::int64_t(wanted) && evict_oldest(evicted)) {
    depth_.fetch_sub(1, std::memory_order_acq_rel);
    count_drop(evicted);
    free = std::int64_t(capacity_) - depth_.load(std::memory_order_acquire);
  }
  return std::size_t(std::max<std::int64_t>(free, 0));
}

bool TokenChannel::wait_for_room(const std::atomic<bool>& cancel) {
  const std::int64_t start = clock_.now_ns();
  if (impl_ == ChannelImpl::mutex) {
    std::unique_lock lock(mutex_);
    while (depth_.load(std::memory_order_acquire) >= std::int64_t(capacity_) && !cancel.load(std::memory_order_acquire))
      not_full_.wait_for(lock, std::chrono::nanoseconds(kRecheckNs));
    stats_.blocked_ns += clock_.now_ns() - start;
    return !cancel.load(std::memory_order_acquire) || depth_.load(std::memory_order_acquire) < std::int64_t(capacity_);
  }
  const std::int64_t spin_until = start + spin_ns_;
  bool cancelled = false;
  while (true) {
    if (depth_.load(std::memory_order_acquire) < std::int64_t(capacity_)) break;
    if (cancel.load(std::memory_order_acquire)) {
      cancelled = true;
      break;
    }
    if (clock_.now_ns() < spin_until) {
      _mm_pause();
      continue;
    }
    const auto key = space_ready_.prepare_wait();
    if (depth_.load(std::memory_order_acquire) < std::int64_t(capacity_) || cancel.load(std::memory_order_acquire)) {
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
    std::int64_t free = std::int64_t(capacity_) - depth_.load(std::memory_order_acquire);
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
    const std::size_t chunk = std::min<std::size_t>(std::size_t(free), n - done);
    enqueue_bulk(items + done, chunk);
    const std::int64_t depth = depth_.fetch_add(std::int64_t(chunk), std::memory_order_acq_rel) + std::int64_t(chunk);
    stats_.max_depth = std::max(stats_.max_depth, depth);
    done += chunk;
    data_ready_.notify_all();
  }
  return done;
}

std::uint64_t TokenChannel::drain(Token* scratch, std::size_t size, const std::atomic<bool>& aborted) {
  std::uint64_t discarded = 0;
  while (!aborted.load(std::memory_order_acquire)) {
    const auto r = pop(scratch, size, clock_.now_ns() + kRecheckNs, aborted);
    for (std::size_t k = 0; k < r.count; ++k) discarded += scratch[k].kind == TokenKind::data;
    if (r.closed) break;
  }
  return discarded;
}

void TokenChannel::push_over_capacity(Token&& item) {
  enqueue_one(std::move(item));
  depth_.fetch_add(1, std::memory_order_acq_rel);
  data_ready_.notify_all();
}

void TokenChannel::close() {
  closed_.store(true, std::memory_order_release);
  wake_consumer();
}

// The reference channel's consumer: no spinning, a condition variable.
TokenChannel::PopResult TokenChannel::pop_locked(Token* out, std::size_t max, std::int64_t deadline_ns,
                                                 const std::atomic<bool>& interrupt) {
  std::size_t n = 0;
  bool closed = false;
  {
    std::unique_lock lock(mutex_);
    while (locked_queue_.empty() && !closed_.load(std::memory_order_acquire) && !interrupt.load(std::memory_order_acquire)) {
      const std::int64_t now = clock_.now_ns();
      if (deadline_ns != EventCount::kForever && now >= deadline_ns) return {0, false};
      const std::int64_t wait = deadline_ns == EventCount::kForever ? kRecheckNs : std::min(deadline_ns - now, kRecheckNs);
      not_empty_.wait_for(lock, std::chrono::nanoseconds(wait));
    }
    n = std::min(max, locked_queue_.size());
    std::move(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n), out);
    locked_queue_.erase(locked_queue_.begin(), locked_queue_.begin() + std::ptrdiff_t(n));
    closed = n == 0 && closed_.load(std::memory_order_acquire);
    // Under the mutex: a producer checks depth_ under it before it sleeps.
    if (n > 0) depth_.fetch_sub(std::int64_t(n), std::memory_order_acq_rel);
  }
  if (n > 0) not_full_.notify_one();
  return {n, closed};
}

TokenChannel::PopResult TokenChannel::pop(Token* out, std::size_t max, std::int64_t deadline_ns,
                                          const std::atomic<bool>& interrupt) {
  if (impl_ == ChannelImpl::mutex) return pop_locked(out, max, deadline_ns, interrupt);
  std::int64_t spin_until = -1;
  while (true) {
    const std::size_t n = queue_.try_dequeue_bulk(consumer_, out, max);
    if (n > 0) {
      depth_.fetch_sub(std::int64_t(n), std::memory_order_acq_rel);
      space_ready_.notify_all();
      return {n, false};
    }
    if (closed_.load(std::memory_order_acquire)) {
      // Everything pushed before close() is visible now: one last look.
      const std::size_t last = try_dequeue_bulk(out, max);
      if (last > 0) {
        depth_.fetch_sub(std::int64_t(last), std::memory_order_acq_rel);
        return {last, false};
      }
      return {0, true};
    }
    if (interrupt.load(std::memory_order_acquire)) return {0, false};
    const std::int64_t now = clock_.now_ns();
    if (deadline_ns != EventCount::kForever && now >= deadline_ns) return {0, false};
    if (spin_until < 0) spin_until = now + spin_ns_;
    if (now < spin_until) {
      _mm_pause();
      continue;
    }
    const auto key = data_ready_.prepare_wait();
    if (queue_.size_approx() > 0 || closed_.load(std::memory_order_acquire) ||
        interrupt.load(std::memory_order_acquire)) {
      data_ready_.cancel_wait();
      continue;
    }
    data_ready_.wait(key, deadline_ns == EventCount::kForever ? kRecheckNs : std::min(deadline_ns - now, kRecheckNs));
  }
}

}  // namespace aiway
