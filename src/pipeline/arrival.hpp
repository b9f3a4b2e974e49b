// When each token of a paced backend is due, and when the hop1 network
// delivers it. Random gaps come from generators seeded by the scenario, so a
// run's schedule is reproducible; the constant schedule is computed from the
// token's index (no drift from summing periods).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

#include "aiway/scenario.hpp"

namespace aiway {

class ArrivalSchedule {
 public:
  // rate_tps: all streams together.
  ArrivalSchedule(Arrival arrival, double rate_tps, double burstiness, std::uint64_t seed, std::int64_t start_ns)
      : arrival_(arrival),
        start_ns_(start_ns),
        period_ns_(1e9 / rate_tps),
        rng_(seed),
        exponential_(1.0 / period_ns_),
        gamma_(burstiness, period_ns_ / burstiness),
        next_ns_(double(start_ns)) {
    advance();
  }

  // The due time of the next token, without taking it.
  std::int64_t peek() const { return due_; }
  // The due time of the next token; the one after becomes next.
  std::int64_t next() {
    const std::int64_t due = due_;
    advance();
    return due;
  }

 private:
  void advance() {
    switch (arrival_) {
      case Arrival::constant: due_ = start_ns_ + std::int64_t(double(index_) * period_ns_); break;
      case Arrival::poisson: due_ = std::int64_t(next_ns_ += exponential_(rng_)); break;
      case Arrival::gamma: due_ = std::int64_t(next_ns_ += gamma_(rng_)); break;
    }
    ++index_;
  }

  Arrival arrival_;
  std::int64_t start_ns_;
  double period_ns_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> exponential_;
  std::gamma_distribution<double> gamma_;
  double next_ns_;
  std::uint64_t index_ = 0;
  std::int64_t due_ = 0;
};

// The hop1 network: delay +- uniform jitter, and in order (a token never
// arrives before the one sent ahead of it, as on one TCP connection).
class NetworkHop {
 public:
  NetworkHop(const HopConfig& hop, std::uint64_t seed)
      : delay_ns_(hop.delay_us * 1e3), jitter_(-hop.jitter_us * 1e3, hop.jitter_us * 1e3), rng_(seed ^ 0x5851F42D4C957F2Du) {}

  std::int64_t arrival(std::int64_t sent_ns) {
    const double delay = std::max(0.0, delay_ns_ + jitter_(rng_));
    last_ = std::max(last_, sent_ns + std::int64_t(delay));
    return last_;
  }

 private:
  double delay_ns_;
  std::uniform_real_distribution<double> jitter_;
  std::mt19937_64 rng_;
  std::int64_t last_ = 0;
};

}  // namespace aiway
