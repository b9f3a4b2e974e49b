// Per-stream delivery checks at the surface: every sequence number once, in
// order. A gap that is filled later is a reorder, a number seen twice is a
// duplicate; what is still missing at the end is lost.
#pragma once

#include <cstdint>
#include <map>

namespace aiway {

class StreamIntegrity {
 public:
  enum class Verdict { in_order, late, duplicate };

  // Records data token `seq`; a late or duplicate token is counted here.
  // Inline for the common case, the next number in order (a call per token
  // was 22 instructions at the surface).
  Verdict observe(std::uint64_t seq) {
    if (seq != next_) return observe_out_of_order(seq);
    ++next_;
    return Verdict::in_order;
  }
  // The terminal item says how many data tokens the stream had.
  void end(std::uint64_t token_count);

  std::uint64_t next_expected() const { return next_; }
  std::uint64_t reordered() const { return reordered_; }
  std::uint64_t duplicated() const { return duplicated_; }
  std::uint64_t missing() const { return missing_; }  // sequence numbers not (yet) seen below next_expected

 private:
  Verdict observe_out_of_order(std::uint64_t seq);
  void mark_missing(std::uint64_t from, std::uint64_t to);

  std::uint64_t next_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t duplicated_ = 0;
  std::uint64_t missing_ = 0;
  std::map<std::uint64_t, std::uint64_t> gaps_;  // [begin, end) of sequence numbers not seen yet
};

}  // namespace aiway
