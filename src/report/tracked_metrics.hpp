// The metrics that go to benchmark trackers (Bencher Metric Format,
// OpenMetrics): one table, so both formats export the same figures.
#pragma once

#include <array>
#include <string_view>

namespace aiway {

struct TrackedMetric {
  std::string_view metric;       // name in the results (and in Bencher Metric Format)
  std::string_view exported;     // OpenMetrics name, in base units as Prometheus names them
  double scale;                  // results unit -> exported unit
  std::string_view help;         // one line for people
};

inline constexpr std::array<TrackedMetric, 9> kTrackedMetrics = {{
    {"throughput_tps", "aiway_throughput_tokens_per_second", 1, "Delivered tokens per second"},
    {"throughput_bytes_per_s", "aiway_throughput_bytes_per_second", 1, "Delivered payload bytes per second"},
    {"latency_p50_us", "aiway_latency_p50_seconds", 1e-6, "End-to-end latency from the intended send time, median"},
    {"latency_p99_us", "aiway_latency_p99_seconds", 1e-6, "End-to-end latency from the intended send time, 99th percentile"},
    {"cpu_share", "aiway_cpu_share_ratio", 1, "Process CPU time over wall time x logical CPUs"},
    {"rss_growth_bytes", "aiway_rss_growth_bytes", 1, "Peak RSS minus the RSS before the scenario"},
    {"loss_ratio", "aiway_loss_ratio", 1, "Tokens dropped or lost over tokens sent"},
    {"lost_unaccounted", "aiway_lost_unaccounted_tokens", 1, "Tokens lost without a channel counting them (anything but 0 is a bug)"},
    {"quit_latency_us", "aiway_quit_latency_seconds", 1e-6, "Quit requested to ShuttingDown seen by the surface"},
}};

}  // namespace aiway
