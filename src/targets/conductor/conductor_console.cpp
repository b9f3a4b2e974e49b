#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <ostream>

#include "report/console_text.hpp"
#include "targets/conductor/conductor_target.hpp"

namespace aiway {

// A conductor process driven over its socket.
void ConductorTarget::print_results(const ScenarioResult& r, std::ostream& out) const {
  const Scenario& s = r.scenario;
  const auto count = [](double v) { return grouped(v); };
    const std::vector<std::string>& command = s.target.started_command();
  out << fmt::format("Configuration: conductor target {}{}, {} surface(s); upstream answer {} tokens of {} bytes, {}\n",
                     !command.empty() ? fmt::format("`{}`", fmt::join(command, " ")) : "at " + s.target.socket,
                     s.target.legacy ? " --legacy" : "", s.target.surfaces, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s") : std::string("as fast as the conductor reads"));
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (r.repetitions.empty()) return;
  out << "Results:\n";
  out << fmt::format("  Tokens        sent {}  delivered {} (all surfaces)  missing {}  unaccounted {}  loss {}\n",
                     spread(r, "tokens_sent", count), spread(r, "tokens_delivered", count),
                     spread(r, "missing_at_surface", count), spread(r, "lost_unaccounted", count), spread(r, "loss_ratio", percent));
  out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n", worst(r, "duplicated"),
                     worst(r, "reordered"), worst(r, "corrupted"));
  out << fmt::format("  Ends          StreamEnd lost {}  State Ready lost {}  abandoned {}  stream errors {}  (worst repetition)\n",
                     worst(r, "stream_end_lost"), worst(r, "state_ready_lost"), worst(r, "streams_abandoned"),
                     worst(r, "stream_errors"));
  out << fmt::format("  Protocol      errors {}  foreign acks {}  notifies {}  upstream write timeouts {}\n",
                     worst(r, "protocol_errors"), worst(r, "foreign_acks"), worst(r, "notifies"),
                     worst(r, "upstream_write_timeouts"));
  out << fmt::format("  Throughput    {}  over {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                     spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
  if (find_summary(r, "latency_p99_us"))
    out << fmt::format("  Latency       p50 {}  p99 {}  max {}  uncorrected p99 {}  TTFT {}  inter-token p99 {}\n",
                       duration_us(summary_median(r, "latency_p50_us")), spread(r, "latency_p99_us", duration_us),
                       duration_us(summary_median(r, "latency_max_us")), duration_us(summary_median(r, "latency_uncorrected_p99_us")),
                       duration_us(summary_median(r, "ttft_us")), duration_us(summary_median(r, "itl_p99_us")));
  if (find_summary(r, "quit_latency_us")) out << fmt::format("  Quit          {}\n", spread(r, "quit_latency_us", duration_us));
  if (find_summary(r, "shutdown_lost") && worst(r, "shutdown_lost") != "0")
    out << fmt::format("  Quit          ShuttingDown never came in {} of {} repetitions\n", count_nonzero(r, "shutdown_lost"),
                       r.repetitions.size());
  out << fmt::format("  Target        CPU share {} ({} s){}  RSS before {} peak {} end {}{}\n", spread(r, "target_cpu_share", percent),
                     plain_number(summary_median(r, "target_cpu_s")),
                     find_summary(r, "target_idle_cpu_share") ? fmt::format("  idle {}", spread(r, "target_idle_cpu_share", percent)) : "",
                     mib(summary_median(r, "target_rss_before_bytes")), mib(summary_median(r, "target_rss_peak_bytes")),
                     mib(summary_median(r, "target_rss_end_bytes")),
                     find_summary(r, "target_exit") ? fmt::format("  exit {}", spread(r, "target_exit", count)) : "");
  out << fmt::format("  Harness       CPU share {}  other work on the machine {}\n", spread(r, "cpu_share", percent),
                     spread(r, "foreign_cpu_share", percent));
}

}  // namespace aiway
