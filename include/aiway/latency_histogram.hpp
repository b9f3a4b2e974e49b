// A log-linear histogram in the HdrHistogram layout: fixed memory chosen at
// construction, O(1) allocation-free record, values kept to a stated number of
// significant decimal digits (a recorded value is reported as the highest value
// equivalent to it, never more than 10^-digits above it).
#pragma once

#include <cstdint>
#include <vector>

namespace aiway {

class LatencyHistogram {
 public:
  // Tracks values 0..highest_trackable with `significant_digits` (1..5) precision.
  explicit LatencyHistogram(std::int64_t highest_trackable = 600'000'000'000,  // 10 min in ns
                            int significant_digits = 3);

  // Values above highest_trackable are clamped to it and counted in saturated();
  // negative values (clock skew between cores) are clamped to 0.
  void record(std::int64_t value) { record_n(value, 1); }
  void record_n(std::int64_t value, std::int64_t count);
  // Adds another histogram of the same range and precision.
  void merge(const LatencyHistogram& other);
  void reset();

  std::int64_t count() const { return total_; }
  std::int64_t saturated() const { return saturated_; }
  std::int64_t min() const { return total_ ? min_ : 0; }
  std::int64_t max() const { return max_; }  // exact
  double mean() const { return total_ ? sum_ / double(total_) : 0.0; }
  // The value at or below which `percentile` (0..100) of recorded values fall.
  std::int64_t value_at_percentile(double percentile) const;

  struct SpectrumPoint {
    std::int64_t value;
    double percentile;         // 0..1
    std::int64_t total_count;  // values at or below `value`
  };
  // The percentile spectrum as HdrHistogram prints it (ticks per half distance).
  std::vector<SpectrumPoint> spectrum(int ticks_per_half_distance = 5) const;

  std::int64_t highest_trackable() const { return highest_; }
  int significant_digits() const { return digits_; }
  std::int64_t lowest_equivalent(std::int64_t value) const;
  std::int64_t highest_equivalent(std::int64_t value) const;
  std::size_t memory_bytes() const { return counts_.capacity() * sizeof(std::int64_t); }

  // The counts array in HdrHistogram's index order (for its exchange encoding).
  std::size_t counts_length() const { return counts_.size(); }
  std::int64_t count_at_index(std::size_t index) const { return counts_[index]; }
  std::size_t index_of(std::int64_t value) const { return counts_index(value); }
  std::int64_t value_at_index(std::size_t index) const { return value_from_index(index); }

 private:
  int bucket_index(std::int64_t value) const;
  std::size_t counts_index(std::int64_t value) const;
  std::int64_t value_from_index(std::size_t index) const;
  std::int64_t equivalent_range(std::int64_t value) const;

  std::int64_t highest_;
  int digits_;
  int sub_bucket_half_count_magnitude_;
  std::int64_t sub_bucket_half_count_;
  std::int64_t sub_bucket_mask_;
  int sub_bucket_count_;
  int leading_zero_count_base_;
  std::vector<std::int64_t> counts_;
  std::int64_t total_ = 0;
  std::int64_t saturated_ = 0;
  std::int64_t min_ = INT64_MAX;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace aiway
