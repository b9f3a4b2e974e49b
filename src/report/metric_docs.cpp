#include "report/metric_docs.hpp"

#include <fmt/format.h>

#include "aiway/metrics.hpp"

namespace aiway {

std::string metric_table_markdown() {
  std::string out = "| metric | unit | better | compared (threshold) | meaning |\n|---|---|---|---|---|\n";
  for (const MetricDescriptor& m : kMetrics) {
    const char* better = m.better == Better::higher ? "higher" : m.better == Better::lower ? "lower" : "";
    std::string compared;
    if (m.threshold > 0) {
      compared = fmt::format("{:g} %", m.threshold * 100);
      if (m.floor > 0) compared += m.floor >= 1024 * 1024 ? fmt::format(", {:g} MiB floor", m.floor / (1024 * 1024))
                                                          : fmt::format(", {:g} floor", m.floor);
      if (m.speed) compared += ", normalised";
    }
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", m.name, m.unit, better, compared, m.description);
  }
  return out;
}

}  // namespace aiway
