// The table of a parameter sweep (run --sweep): one row per combination, the
// figures people choose a setting by. Console and Markdown print it alike.
#pragma once

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "aiway/results.hpp"

namespace aiway {

struct SweepRow {
  std::string scenario;                 // the scenario's own name, without the combination
  std::vector<std::string> values;      // one per swept field, in order
  double throughput_tps = 0, latency_p99_us = 0, cpu_share = 0, rss_growth_bytes = 0;
  std::optional<double> goodput_ratio;  // HTTP targets
  bool passed = false;
};
struct SweepTable {
  std::vector<std::string> fields;  // swept fields, in the order given
  std::vector<SweepRow> rows;
  bool empty() const { return rows.empty(); }
  bool has_goodput() const {
    return std::any_of(rows.begin(), rows.end(), [](const SweepRow& r) { return r.goodput_ratio.has_value(); });
  }
};

SweepTable sweep_table(const RunResults& results);
void print_sweep_table(const SweepTable& table, bool markdown, std::ostream& out);

}  // namespace aiway
