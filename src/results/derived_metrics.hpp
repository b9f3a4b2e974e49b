// Metrics derived from recorded data, here once because a run and a merge
// derive them alike: the token latency percentiles from a latency histogram,
// and HTTP targets' across-streams metrics from their per-stream records
// (with the columns those records are stored in, one table read by the
// results writer and loader). A merge of shards therefore agrees exactly with
// what one run of the whole load would have computed.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "aiway/latency_histogram.hpp"
#include "aiway/results.hpp"

namespace aiway {

struct StreamColumn {
  std::string_view name;
  double StreamRecord::*number = nullptr;  // numeric columns
  std::string StreamRecord::*text = nullptr;  // text columns
  bool StreamRecord::*flag = nullptr;        // boolean columns
};

inline const std::array<StreamColumn, 23> kStreamColumns = {{
    {"index", nullptr, nullptr, nullptr},  // an integer, handled by name
    {"end", nullptr, &StreamRecord::end, nullptr},
    {"detail", nullptr, &StreamRecord::detail, nullptr},
    {"status", &StreamRecord::status},
    {"start_s", &StreamRecord::start_s},
    {"end_s", &StreamRecord::end_s},
    {"tokens_sent", &StreamRecord::tokens_sent},
    {"delivered", &StreamRecord::delivered},
    {"missing", &StreamRecord::missing},
    {"duplicated", &StreamRecord::duplicated},
    {"reordered", &StreamRecord::reordered},
    {"corrupted", &StreamRecord::corrupted},
    {"chunks_upstream", &StreamRecord::chunks_upstream},
    {"chunks", &StreamRecord::chunks},
    {"body_bytes", &StreamRecord::body_bytes},
    {"request_lag_us", &StreamRecord::request_lag_us},
    {"ttft_us", &StreamRecord::ttft_us},
    {"itl_p50_us", &StreamRecord::itl_p50_us},
    {"itl_p99_us", &StreamRecord::itl_p99_us},
    {"itl_max_us", &StreamRecord::itl_max_us},
    {"tpot_us", &StreamRecord::tpot_us},
    {"e2e_us", &StreamRecord::e2e_us},
    {"good", nullptr, nullptr, &StreamRecord::good},
}};

// The across-streams metrics (counts by how streams ended, the books,
// TTFT / ITL / TPOT / end-to-end over streams, chunking, goodput, throughput)
// into m. Token latency percentiles come from the latency histogram, not from here.
void set_stream_metrics(const std::vector<StreamRecord>& streams, Metrics& m);

// The token latency metrics (latency_p50_us ... latency_mean_us) from the
// corrected latency histogram.
void set_token_latency_metrics(const LatencyHistogram& corrected, Metrics& m);

// The value at percentile p (0-100) of values, nearest rank; values is sorted in place.
double percentile_of(std::vector<double>& values, double p);

}  // namespace aiway
