// Records into a LatencyHistogram in runs: tokens travel in batches that share
// their timestamps, so consecutive values are often equal, and one record_n per
// run costs a compare per token instead of a bucket lookup. Exact: the same
// counts land in the same buckets.
#pragma once

#include <cstdint>

#include "aiway/latency_histogram.hpp"

namespace aiway {

class RunLengthRecorder {
 public:
  explicit RunLengthRecorder(LatencyHistogram& histogram) : histogram_(histogram) {}
  RunLengthRecorder(const RunLengthRecorder&) = delete;
  RunLengthRecorder& operator=(const RunLengthRecorder&) = delete;
  ~RunLengthRecorder() { flush(); }

  void record(std::int64_t value, std::int64_t count = 1) {
    if (value == value_) {
      count_ += count;
      return;
    }
    flush();
    value_ = value;
    count_ = count;
  }
  void flush() {
    if (count_ > 0) histogram_.record_n(value_, count_);
    count_ = 0;
  }

 private:
  LatencyHistogram& histogram_;
  std::int64_t value_ = INT64_MIN;
  std::int64_t count_ = 0;
};

}  // namespace aiway
