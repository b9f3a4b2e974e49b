#include "pipeline/integrity.hpp"

namespace aiway {

void StreamIntegrity::mark_missing(std::uint64_t from, std::uint64_t to) {
  if (from >= to) return;
  gaps_.emplace(from, to);
  missing_ += to - from;
}

StreamIntegrity::Verdict StreamIntegrity::observe_out_of_order(std::uint64_t seq) {
  if (seq > next_) {
    mark_missing(next_, seq);
    next_ = seq + 1;
    return Verdict::in_order;
  }
  // Below next_: either it fills a gap (late) or it was seen before.
  auto it = gaps_.upper_bound(seq);
  if (it == gaps_.begin()) {
    ++duplicated_;
    return Verdict::duplicate;
  }
  --it;
  const auto [begin, end] = *it;
  if (seq >= end) {
    ++duplicated_;
    return Verdict::duplicate;
  }
  gaps_.erase(it);
  if (begin < seq) gaps_.emplace(begin, seq);
  if (seq + 1 < end) gaps_.emplace(seq + 1, end);
  --missing_;
  ++reordered_;
  return Verdict::late;
}

void StreamIntegrity::end(std::uint64_t token_count) {
  if (token_count > next_) {
    mark_missing(next_, token_count);
    next_ = token_count;
  }
}

}  // namespace aiway
