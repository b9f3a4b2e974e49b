// Planted misbehaviour on the way into a channel (scenario [faults]): one data
// token in every N is dropped silently, duplicated, sent after its successor,
// or has a byte flipped. The surface's detectors must find exactly what was
// planted; this is how the test suite proves they do.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "aiway/scenario.hpp"
#include "aiway/token.hpp"
#include "pipeline/token_channel.hpp"

namespace aiway {

struct ChannelCanaries {
  std::uint64_t drop_every = 0;  // 0 turns a canary off
  std::uint64_t duplicate_every = 0;
  std::uint64_t reorder_every = 0;
  std::uint64_t corrupt_every = 0;
  bool any() const { return drop_every || duplicate_every || reorder_every || corrupt_every; }
};

// The token channel's canaries as a scenario's [faults] plants them.
inline ChannelCanaries canaries_for(const FaultConfig& faults) {
  return {faults.channel_drop_every, faults.channel_duplicate_every, faults.channel_reorder_every,
          faults.channel_corrupt_every};
}

// What was planted (read after the producer has finished).
struct PlantedFaults {
  std::uint64_t drops = 0, duplicates = 0, reorders = 0, corruptions = 0;
};

class CanaryInjector final : public TokenProducer {
 public:
  CanaryInjector(TokenChannel& channel, ChannelCanaries canaries);
  // A cancelled push reports all or nothing: the batch was rewritten.
  std::size_t push(Token* items, std::size_t n, const std::atomic<bool>& cancel) override;
  // A reordered token still held has no successor left: it goes in last.
  void close() override;
  void wake_consumer() override { channel_.wake_consumer(); }
  TokenChannel* in_place() override { return canaries_.any() ? nullptr : channel_.in_place(); }
  const PlantedFaults& planted() const { return planted_; }

 private:
  TokenChannel& channel_;
  const ChannelCanaries canaries_;
  std::uint64_t data_seen_ = 0;
  std::vector<Token> batch_;    // the batch as the faulty channel rewrote it
  std::optional<Token> held_;   // a reordered token, waiting for its successor
  PlantedFaults planted_;
};

}  // namespace aiway
