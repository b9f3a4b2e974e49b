#include "pipeline/canary_injector.hpp"

namespace aiway {

CanaryInjector::CanaryInjector(TokenChannel& channel, ChannelCanaries canaries) : channel_(channel), canaries_(canaries) {}

std::size_t CanaryInjector::push(Token* items, std::size_t n, const std::atomic<bool>& cancel) {
  if (!canaries_.any()) return channel_.push(items, n, cancel);
  auto every = [&](std::uint64_t period) { return period && data_seen_ % period == 0; };
  batch_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    Token& token = items[i];
    if (token.kind != TokenKind::data) {
      batch_.push_back(std::move(token));
      continue;
    }
    ++data_seen_;
    if (every(canaries_.drop_every)) {  // silently: no policy counts it
      ++planted_.drops;
      continue;
    }
    if (every(canaries_.reorder_every) && !held_) {
      ++planted_.reorders;
      held_ = std::move(token);
      continue;
    }
    if (every(canaries_.duplicate_every)) {
      ++planted_.duplicates;
      batch_.push_back(token);
    } else if (every(canaries_.corrupt_every) && !token.text.empty()) {
      ++planted_.corruptions;
      token.text[0] = char(token.text[0] ^ 0x01);
    }
    batch_.push_back(std::move(token));
    if (held_) {  // the reordered token goes right after its successor
      batch_.push_back(std::move(*held_));
      held_.reset();
    }
  }
  const std::size_t pushed = channel_.push(batch_.data(), batch_.size(), cancel);
  return pushed == batch_.size() ? n : 0;
}

void CanaryInjector::close() {
  if (held_) {
    // One slot over capacity is acceptable for a planted fault.
    channel_.push_over_capacity(std::move(*held_));
    held_.reset();
  }
  channel_.close();
}

}  // namespace aiway
