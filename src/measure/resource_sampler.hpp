// A sampler thread: every interval it reads RSS and a set of gauges (e.g.
// channel depths), keeping peaks, means and an RSS timeline.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "measure/process_stats.hpp"

namespace aiway {

struct RssSample {
  double t_s;             // since start()
  std::int64_t rss_bytes;
};

// A value sampled with RSS (a channel's depth); called on the sampler's thread.
using Gauge = std::function<std::int64_t()>;

struct GaugeSummary {
  std::int64_t max = 0;
  double mean = 0;
};

struct SamplerReport {
  std::int64_t rss_peak_bytes = 0;     // max of samples and VmHWM
  std::int64_t rss_sampled_peak_bytes = 0;
  std::int64_t vm_hwm_bytes = 0;       // 0 where /proc could not be reset
  std::vector<RssSample> rss_timeline;  // thinned to at most kMaxTimeline points
  std::vector<GaugeSummary> gauges;
  std::int64_t samples = 0;
};

class ResourceSampler {
 public:
  static constexpr std::size_t kMaxTimeline = 2000;

  ResourceSampler(double interval_ms, std::vector<Gauge> gauges);
  ~ResourceSampler();
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  void start();
  SamplerReport stop();

 private:
  void sample(std::int64_t t0_ns);
  void loop();

  const std::int64_t interval_ns_;
  const std::vector<Gauge> gauges_;
  std::vector<double> gauge_sums_;
  SamplerReport report_;
  const RssReader rss_;
  bool hwm_reset_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace aiway
