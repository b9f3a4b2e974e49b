#include "measure/resource_sampler.hpp"

#include <algorithm>
#include <chrono>

#include "measure/clock.hpp"
#include "measure/process_stats.hpp"

namespace aiway {

ResourceSampler::ResourceSampler(double interval_ms, std::vector<Gauge> gauges)
    : interval_ns_(std::int64_t(interval_ms * 1e6)), gauges_(std::move(gauges)), gauge_sums_(gauges_.size(), 0.0) {
  report_.gauges.resize(gauges_.size());
  report_.rss_timeline.reserve(kMaxTimeline + 1);
}

ResourceSampler::~ResourceSampler() {
  if (thread_.joinable()) stop();
}

void ResourceSampler::start() {
  hwm_reset_ = reset_peak_rss();
  thread_ = std::thread([this] { loop(); });
}

void ResourceSampler::sample(std::int64_t t0_ns) {
  const std::int64_t rss = rss_.bytes();
  report_.rss_sampled_peak_bytes = std::max(report_.rss_sampled_peak_bytes, rss);
  // Keep the timeline bounded: when full, drop every second point and keep going.
  if (report_.rss_timeline.size() >= kMaxTimeline) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < report_.rss_timeline.size(); i += 2) report_.rss_timeline[kept++] = report_.rss_timeline[i];
    report_.rss_timeline.resize(kept);
  }
  report_.rss_timeline.push_back({double(monotonic_ns() - t0_ns) * 1e-9, rss});
  for (std::size_t i = 0; i < gauges_.size(); ++i) {
    const std::int64_t value = gauges_[i]();
    report_.gauges[i].max = std::max(report_.gauges[i].max, value);
    gauge_sums_[i] += double(value);
  }
  ++report_.samples;
}

void ResourceSampler::loop() {
  const std::int64_t t0 = monotonic_ns();
  std::unique_lock lock(mutex_);
  while (true) {
    sample(t0);
    if (wake_.wait_for(lock, std::chrono::nanoseconds(interval_ns_), [this] { return stop_; })) break;
  }
  sample(t0);
}

SamplerReport ResourceSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  for (std::size_t i = 0; i < gauges_.size(); ++i)
    report_.gauges[i].mean = report_.samples ? gauge_sums_[i] / double(report_.samples) : 0.0;
  report_.vm_hwm_bytes = hwm_reset_ ? peak_rss_bytes() : 0;
  report_.rss_peak_bytes = std::max(report_.rss_sampled_peak_bytes, report_.vm_hwm_bytes);
  return report_;
}

}  // namespace aiway
