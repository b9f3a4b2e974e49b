// An event count on a futex: lets a thread sleep until another says "something
// changed", with a timeout, without a mutex on the signalling side.
// The notifier pays one atomic read-modify-write when nobody sleeps. No
// standalone fences: the waiter's increment and the notifier's RMW on the same
// counter order the two sides (and ThreadSanitizer can follow them).
//
// Waiter:   auto key = ec.prepare_wait(); if (ready()) { ec.cancel_wait(); } else { ec.wait(key, timeout_ns); }
// Notifier: make ready() true; ec.notify_all();
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace aiway {

class EventCount {
 public:
  static constexpr std::int64_t kForever = -1;

  std::uint32_t prepare_wait() {
    waiters_.fetch_add(1, std::memory_order_seq_cst);
    return epoch_.load(std::memory_order_seq_cst);
  }
  void cancel_wait() { waiters_.fetch_sub(1, std::memory_order_release); }

  // Sleeps until notified after prepare_wait() or for at most timeout_ns
  // (kForever: no limit). A timeout, not a deadline: the caller measures it on
  // its own clock, so no two clocks meet in the wait. Spurious returns are possible.
  void wait(std::uint32_t key, std::int64_t timeout_ns) {
    timespec ts{};
    timespec* timeout = nullptr;
    if (timeout_ns != kForever) {
      timeout_ns = timeout_ns < 0 ? 0 : timeout_ns;
      ts.tv_sec = timeout_ns / 1'000'000'000;
      ts.tv_nsec = timeout_ns % 1'000'000'000;
      timeout = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), FUTEX_WAIT_PRIVATE, key, timeout, nullptr, 0);
    waiters_.fetch_sub(1, std::memory_order_release);
  }

  void notify_all() {
    // An RMW, not a load: if it reads a count without the waiter's increment,
    // that increment comes later in the counter's order and reads from this
    // release, so the waiter's re-check sees what the caller published.
    if (waiters_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }

 private:
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace aiway
