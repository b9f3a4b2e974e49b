#include "aiway/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace aiway {

LatencyHistogram::LatencyHistogram(std::int64_t highest_trackable, int significant_digits)
    : highest_(highest_trackable), digits_(significant_digits) {
  if (significant_digits < 1 || significant_digits > 5)
    throw std::invalid_argument("LatencyHistogram: significant digits must be 1..5");
  if (highest_trackable < 2) throw std::invalid_argument("LatencyHistogram: highest trackable value must be >= 2");
  // As HdrHistogram: enough linear sub-buckets that each covers one unit up to
  // 2 * 10^digits, then each bucket doubles the unit.
  const std::int64_t single_unit_resolution = 2 * std::int64_t(std::pow(10, significant_digits));
  const int sub_bucket_count_magnitude = int(std::ceil(std::log2(double(single_unit_resolution))));
  sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  sub_bucket_count_ = 1 << (sub_bucket_half_count_magnitude_ + 1);
  sub_bucket_half_count_ = sub_bucket_count_ / 2;
  sub_bucket_mask_ = std::int64_t(sub_bucket_count_) - 1;
  leading_zero_count_base_ = 64 - sub_bucket_half_count_magnitude_ - 1;

  std::int64_t smallest_untrackable = sub_bucket_count_;
  int buckets = 1;
  while (smallest_untrackable <= highest_trackable) {
    if (smallest_untrackable > INT64_MAX / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  counts_.assign(std::size_t(buckets + 1) * std::size_t(sub_bucket_half_count_), 0);
}

int LatencyHistogram::bucket_index(std::int64_t value) const {
  return leading_zero_count_base_ - std::countl_zero(std::uint64_t(value | sub_bucket_mask_));
}

std::size_t LatencyHistogram::counts_index(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const std::int64_t sub_bucket = value >> bucket;
  return std::size_t(((std::int64_t(bucket) + 1) << sub_bucket_half_count_magnitude_) +
                     (sub_bucket - sub_bucket_half_count_));
}

std::int64_t LatencyHistogram::value_from_index(std::size_t index) const {
  std::int64_t bucket = std::int64_t(index >> sub_bucket_half_count_magnitude_) - 1;
  std::int64_t sub_bucket = std::int64_t(index & std::size_t(sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return sub_bucket << bucket;
}

std::int64_t LatencyHistogram::equivalent_range(std::int64_t value) const {
  const int bucket = bucket_index(value);
  const std::int64_t sub_bucket = value >> bucket;
  const int adjusted = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return std::int64_t(1) << adjusted;
}

std::int64_t LatencyHistogram::lowest_equivalent(std::int64_t value) const {
  const int bucket = bucket_index(value);
  return (value >> bucket) << bucket;
}

std::int64_t LatencyHistogram::highest_equivalent(std::int64_t value) const {
  return lowest_equivalent(value) + equivalent_range(value) - 1;
}

void LatencyHistogram::record_n(std::int64_t value, std::int64_t count) {
  if (value < 0) value = 0;
  if (value > highest_) {
    value = highest_;
    saturated_ += count;
  }
  counts_[counts_index(value)] += count;
  total_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += double(value) * double(count);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.counts_.size() != counts_.size() || other.digits_ != digits_)
    throw std::invalid_argument("LatencyHistogram::merge: histograms differ in range or precision");
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  saturated_ += other.saturated_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = saturated_ = max_ = 0;
  min_ = INT64_MAX;
  sum_ = 0;
}


std::int64_t LatencyHistogram::value_at_percentile(double percentile) const {
  if (total_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  // Nearest rank, ceil(p/100 * n). The product is shrunk by a hair first: 99.9
  // is not exact in binary, and 0.999 * 200,000 would otherwise round up to
  // rank 199,801.
  const double rank = p / 100.0 * double(total_) * (1.0 - 1e-12);
  const std::int64_t wanted = std::clamp<std::int64_t>(std::int64_t(std::ceil(rank)), 1, total_);
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(highest_equivalent(value_from_index(i)), max_);
  }
  return max_;
}

std::vector<LatencyHistogram::SpectrumPoint> LatencyHistogram::spectrum(int ticks_per_half_distance) const {
  std::vector<SpectrumPoint> points;
  if (total_ == 0) return points;
  // Percentile steps halve with each halving of the distance to 100 %, as in
  // HdrHistogram's percentile iterator; one line per step.
  double p = 0;
  while (true) {
    const std::int64_t value = value_at_percentile(p);
    std::int64_t at_or_below = 0;
    for (std::size_t i = 0; i < counts_.size() && value_from_index(i) <= value; ++i) at_or_below += counts_[i];
    points.push_back({value, p / 100.0, at_or_below});
    if (at_or_below >= total_ || p >= 100.0) break;
    const double half_distances = std::floor(std::log2(100.0 / (100.0 - p))) + 1;
    p += 100.0 / (ticks_per_half_distance * std::pow(2.0, half_distances));
  }
  if (points.back().percentile < 1.0) points.push_back({max_, 1.0, total_});
  return points;
}

}  // namespace aiway
