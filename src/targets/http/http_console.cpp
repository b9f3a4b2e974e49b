#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <ostream>

#include "report/console_text.hpp"
#include "targets/http/http_target.hpp"

namespace aiway {

// The streams worth a look in one repetition: those that did not end done or
// missed an objective, worst first, at most `limit`.
namespace {

void print_stream_exceptions(const Repetition& rep, std::size_t limit, std::ostream& out) {
  std::vector<const StreamRecord*> odd;
  for (const StreamRecord& s : rep.streams)
    if (!s.good) odd.push_back(&s);
  if (odd.empty()) return;
  std::stable_sort(odd.begin(), odd.end(), [](const auto* a, const auto* b) { return a->end != "done" && b->end == "done"; });
  out << fmt::format("  Streams not good ({} of {}; the first {} shown):\n", odd.size(), rep.streams.size(), std::min(limit, odd.size()));
  for (std::size_t i = 0; i < odd.size() && i < limit; ++i) {
    const StreamRecord& s = *odd[i];
    const auto us = [](double v) { return v < 0 ? std::string("-") : duration_us(v); };
    out << fmt::format("    #{:<5} {}{}  tokens {}/{}  TTFT {}  ITL p99 {} max {}  e2e {}  chunks {} of {}\n", s.index, s.end,
                       s.detail.empty() ? "" : fmt::format(" ({})", s.detail), grouped(s.delivered), grouped(s.tokens_sent),
                       us(s.ttft_us), us(s.itl_p99_us), us(s.itl_max_us), us(s.e2e_us), grouped(s.chunks), grouped(s.chunks_upstream));
  }
}

}  // namespace

void HttpTarget::print_results(const ScenarioResult& r, std::ostream& out) const {
  const Scenario& s = r.scenario;
  const auto count = [](double v) { return grouped(v); };
    const bool started = s.starts_proxy();
  out << fmt::format("Configuration: HTTP target {} {}; {} stream(s) x {} tokens of {} bytes, {}{}\n", s.target.url,
                     started ? fmt::format("through `{}`", fmt::join(s.target.started_command(), " ")) : std::string("(direct)"),
                     s.backend.streams, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s") + " per stream" : std::string("as fast as read"),
                     s.target.shard.empty() ? "" : fmt::format("; shard {}", s.target.shard));
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (r.repetitions.empty()) return;
  out << "Results:\n";
  out << fmt::format("  Tokens        sent {}  delivered {}  missing {}  unaccounted {}  loss {}\n", spread(r, "tokens_sent", count),
                     spread(r, "tokens_delivered", count), spread(r, "missing_at_surface", count),
                     spread(r, "lost_unaccounted", count), spread(r, "loss_ratio", percent));
  out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n", worst(r, "duplicated"),
                     worst(r, "reordered"), worst(r, "corrupted"));
  out << fmt::format("  Streams       done {}  truncated {}  HTTP errors {}  refused {}  timed out {}  malformed {}  "
                     "upstream errors {}  unfinished {}  (worst repetition)\n",
                     spread(r, "streams_completed", count), worst(r, "truncated_streams"), worst(r, "http_errors"),
                     worst(r, "connect_errors"), worst(r, "stream_timeouts"), worst(r, "malformed_streams"),
                     worst(r, "stream_errors"), worst(r, "streams_unfinished"));
  out << fmt::format("  Goodput       {} of streams met every [slo] objective, {} streams/s\n", spread(r, "goodput_ratio", percent),
                     plain_number(summary_median(r, "goodput_streams_per_s")));
  out << fmt::format("  Throughput    {}  over {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                     spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
  if (find_summary(r, "latency_p99_us"))
    out << fmt::format("  Token latency p50 {}  p99 {}  max {}  uncorrected p99 {}  (upstream's schedule to the client)\n",
                       duration_us(summary_median(r, "latency_p50_us")), spread(r, "latency_p99_us", duration_us),
                       duration_us(summary_median(r, "latency_max_us")), duration_us(summary_median(r, "latency_uncorrected_p99_us")));
  const auto over_streams = [&](const char* label, const char* p50, const char* p90, const char* p99, const char* max) {
    if (!find_summary(r, p50)) return;
    out << fmt::format("  {:<13} p50 {}  p90 {}  p99 {}  max {}  (over streams)\n", label, duration_us(summary_median(r, p50)),
                       p90 ? duration_us(summary_median(r, p90)) : std::string("-"), duration_us(summary_median(r, p99)),
                       max ? duration_us(summary_median(r, max)) : std::string("-"));
  };
  over_streams("TTFT", "ttft_us", "ttft_p90_us", "ttft_p99_us", "ttft_max_us");
  over_streams("End to end", "e2e_p50_us", "e2e_p90_us", "e2e_p99_us", "e2e_max_us");
  over_streams("Per token", "tpot_p50_us", nullptr, "tpot_p99_us", nullptr);
  if (find_summary(r, "itl_p99_us"))
    out << fmt::format("  Inter-token   p99 {} (median stream)  {} (worst stream)  longest gap {}\n",
                       duration_us(summary_median(r, "itl_p99_us")), duration_us(summary_median(r, "itl_p99_worst_us")),
                       duration_us(summary_median(r, "itl_max_us")));
  out << fmt::format("  Chunks        upstream {}  downstream {}  coalescing {}  {} body bytes per token\n",
                     spread(r, "chunks_upstream", count), spread(r, "chunks_downstream", count),
                     plain_number(summary_median(r, "coalescing_ratio")), plain_number(summary_median(r, "wire_bytes_per_token")));
  if (find_summary(r, "target_cpu_share"))
    out << fmt::format("  Target        CPU share {} ({} s)  RSS before {} peak {} end {}\n", spread(r, "target_cpu_share", percent),
                       plain_number(summary_median(r, "target_cpu_s")), mib(summary_median(r, "target_rss_before_bytes")),
                       mib(summary_median(r, "target_rss_peak_bytes")), mib(summary_median(r, "target_rss_end_bytes")));
  out << fmt::format("  Harness       CPU share {}  latest request {} after its start  other work on the machine {}\n",
                     spread(r, "cpu_share", percent), duration_us(summary_median(r, "start_lag_max_us")),
                     spread(r, "foreign_cpu_share", percent));
  print_stream_exceptions(r.repetitions.back(), 10, out);
}

}  // namespace aiway
