#include "results/derived_metrics.hpp"

#include <algorithm>
#include <cmath>

namespace aiway {

double percentile_of(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * double(values.size()));
  return values[std::size_t(std::clamp(rank, 1.0, double(values.size()))) - 1];
}

void set_token_latency_metrics(const LatencyHistogram& corrected, Metrics& m) {
  if (corrected.count() == 0) return;
  m.set("latency_p50_us", double(corrected.value_at_percentile(50)) / 1e3);
  m.set("latency_p90_us", double(corrected.value_at_percentile(90)) / 1e3);
  m.set("latency_p99_us", double(corrected.value_at_percentile(99)) / 1e3);
  m.set("latency_p999_us", double(corrected.value_at_percentile(99.9)) / 1e3);
  m.set("latency_max_us", double(corrected.max()) / 1e3);
  m.set("latency_mean_us", corrected.mean() / 1e3);
}

void set_stream_metrics(const std::vector<StreamRecord>& streams, Metrics& m) {
  double sent = 0, delivered = 0, missing = 0, duplicated = 0, reordered = 0, corrupted = 0;
  double chunks_up = 0, chunks_down = 0, bytes = 0, good = 0, lag = 0;
  double first_start = 0, last_end = 0;
  bool any_started = false;
  std::vector<double> ttft, itl_p99, tpot, e2e;
  double itl_max = 0;
  std::size_t done = 0, truncated = 0, http = 0, refused = 0, timed_out = 0, malformed = 0, errors = 0, unfinished = 0;
  for (const StreamRecord& r : streams) {
    sent += r.tokens_sent;
    delivered += r.delivered;
    missing += r.missing;
    duplicated += r.duplicated;
    reordered += r.reordered;
    corrupted += r.corrupted;
    chunks_up += r.chunks_upstream;
    chunks_down += r.chunks;
    bytes += r.body_bytes;
    good += r.good ? 1 : 0;
    lag = std::max(lag, r.request_lag_us);
    if (r.end == "done") ++done;
    else if (r.end == "truncated") ++truncated;
    else if (r.end == "http error") ++http;
    else if (r.end == "refused") ++refused;
    else if (r.end == "timed out") ++timed_out;
    else if (r.end == "malformed") ++malformed;
    else if (r.end == "upstream error") ++errors;
    else ++unfinished;
    if (r.end != "not started") {
      first_start = any_started ? std::min(first_start, r.start_s) : r.start_s;
      last_end = std::max(last_end, r.end_s);
      any_started = true;
    }
    if (r.ttft_us >= 0) ttft.push_back(r.ttft_us);
    if (r.itl_p99_us >= 0) itl_p99.push_back(r.itl_p99_us);
    itl_max = std::max(itl_max, r.itl_max_us);
    if (r.tpot_us >= 0) tpot.push_back(r.tpot_us);
    if (r.e2e_us >= 0) e2e.push_back(r.e2e_us);
  }
  m.set("streams", double(streams.size()));
  m.set("streams_completed", double(done));
  m.set("streams_failed", double(streams.size() - done));
  m.set("truncated_streams", double(truncated));
  m.set("http_errors", double(http));
  m.set("connect_errors", double(refused));
  m.set("stream_timeouts", double(timed_out));
  m.set("malformed_streams", double(malformed));
  m.set("stream_errors", double(errors));
  m.set("streams_unfinished", double(unfinished));
  m.set("tokens_sent", sent);
  m.set("tokens_delivered", delivered);
  m.set("missing_at_surface", missing);
  // Every token the upstream sent reached its stream or is missing by its
  // number; anything else is the books' own error.
  m.set("lost_unaccounted", sent - delivered - missing);
  m.set("loss_ratio", sent > 0 ? missing / sent : 0);
  m.set("duplicated", duplicated);
  m.set("reordered", reordered);
  m.set("corrupted", corrupted);
  m.set("start_lag_max_us", lag);
  const double wall = last_end - first_start;
  m.set("wall_s", wall);
  m.set("throughput_tps", wall > 0 ? delivered / wall : 0);
  if (!ttft.empty()) {
    m.set("ttft_us", percentile_of(ttft, 50));
    m.set("ttft_p90_us", percentile_of(ttft, 90));
    m.set("ttft_p99_us", percentile_of(ttft, 99));
    m.set("ttft_max_us", ttft.back());
  }
  if (!itl_p99.empty()) {
    m.set("itl_p99_us", percentile_of(itl_p99, 50));
    m.set("itl_p99_worst_us", itl_p99.back());
    m.set("itl_max_us", itl_max);
  }
  if (!tpot.empty()) {
    m.set("tpot_p50_us", percentile_of(tpot, 50));
    m.set("tpot_p99_us", percentile_of(tpot, 99));
  }
  if (!e2e.empty()) {
    m.set("e2e_p50_us", percentile_of(e2e, 50));
    m.set("e2e_p90_us", percentile_of(e2e, 90));
    m.set("e2e_p99_us", percentile_of(e2e, 99));
    m.set("e2e_max_us", e2e.back());
  }
  m.set("chunks_upstream", chunks_up);
  m.set("chunks_downstream", chunks_down);
  if (chunks_down > 0) m.set("coalescing_ratio", chunks_up / chunks_down);
  if (delivered > 0) m.set("wire_bytes_per_token", bytes / delivered);
  m.set("goodput_ratio", streams.empty() ? 0 : good / double(streams.size()));
  m.set("goodput_streams_per_s", wall > 0 ? good / wall : 0);
}

}  // namespace aiway
