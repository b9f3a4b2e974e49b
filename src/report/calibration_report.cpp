#include "report/calibration_report.hpp"

#include <fmt/format.h>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "results/results_json.hpp"

namespace aiway {

void print_calibration(const Calibration& c, const std::string& format, std::ostream& out) {
  if (format == "json") {
    out << calibration_json(c).dump(2) << "\n";
    return;
  }
  out << fmt::format("Calibration score {:.3f}  (1.000 = the reference machine; higher is faster)\n", c.score)
      << fmt::format("  token channel, 2 threads  {:>8.2f} M tokens/s\n", c.channel_tokens_per_s / 1e6)
      << fmt::format("  memcpy, 64 MiB            {:>8.2f} GB/s\n", c.memcpy_bytes_per_s / 1e9)
      << fmt::format("  dependent integer loop    {:>8.2f} G steps/s\n", c.loop_ops_per_s / 1e9)
      << fmt::format("  raw moodycamel hop        {:>8.2f} M tokens/s of 10 bytes, {:.2f} M of 100 bytes  "
                     "(not scored: what throughput is read against)\n",
                     c.raw_hop_short_tokens_per_s / 1e6, c.raw_hop_medium_tokens_per_s / 1e6);
  if (c.foreign_cpu_share)
    out << fmt::format("  other work on the machine {:>8.1f} % of its CPU\n", *c.foreign_cpu_share * 100);
  if (calibration_disturbed(c))
    out << fmt::format("  WARNING: other work used {:.0f} % of the machine's CPU meanwhile: the score is low by "
                       "an unknown amount; calibrate on a quieter machine\n", *c.foreign_cpu_share * 100);
  if (c.spread >= 0.10)
    out << fmt::format("  WARNING: the tries spread by {:.0f} %: the machine is busy or its speed changes; "
                       "the score is uncertain\n", c.spread * 100);
}

}  // namespace aiway
