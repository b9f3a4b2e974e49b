#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <ostream>

#include "aiway/scenario_file.hpp"
#include "report/console_text.hpp"
#include "targets/model/model_target.hpp"

namespace aiway {

// The harness's own pipeline model: stages, channels, queues.
void ModelTarget::print_results(const ScenarioResult& r, std::ostream& out) const {
  const Scenario& s = r.scenario;
  out << fmt::format("Configuration: {} stream(s) x {} tokens, size {}, {}, channels {} ({}) / {} ({}), surface work {} us\n",
                     s.backend.streams, grouped(double(s.backend.messages)), s.backend.size,
                     s.backend.rate_tps > 0 ? si(s.backend.rate_tps, "tokens/s per stream") : std::string("flat out"),
                     grouped(double(s.channel.capacity)), to_string(s.channel.overflow),
                     grouped(double(s.surface_channel.capacity)), to_string(s.surface_channel.overflow), s.surface.work_us);
  out << fmt::format("Repetitions: {} (+{} warm-up); figures are the median [min .. max]\n", r.repetitions.size(), s.warmup);
  if (!r.repetitions.empty()) {
    const auto count = [](double v) { return grouped(v); };
    out << "Results:\n";
    // Every term of sent = delivered + dropped by policy + discarded + dropped by stage + unaccounted.
    out << fmt::format("  Tokens        sent {}  delivered {}  dropped by policy {}  discarded at quit {}  dropped by stage {}  "
                       "unaccounted {}\n",
                       spread(r, "tokens_sent", count), spread(r, "tokens_delivered", count),
                       spread(r, "dropped_by_policy", count), spread(r, "discarded_at_shutdown", count),
                       spread(r, "dropped_by_stage", count), spread(r, "lost_unaccounted", count));
    out << fmt::format("  Integrity     duplicated {}  reordered {}  corrupted {}  (worst repetition)\n",
                       worst(r, "duplicated"), worst(r, "reordered"), worst(r, "corrupted"));
    out << fmt::format("  Streams       completed {}  errors {}  commands planted {} executed {}\n",
                       spread(r, "streams_completed", count), spread(r, "stream_errors", count),
                       spread(r, "commands_planted", count), spread(r, "commands_executed", count));
    out << fmt::format("  Duration      {}\n", spread(r, "wall_s", [](double v) { return duration_us(v * 1e6); }));
    out << fmt::format("  Throughput    {}   {}\n", spread(r, "throughput_tps", [](double v) { return si(v, "tokens/s"); }),
                       si(summary_median(r, "throughput_bytes_per_s"), "B/s"));
    if (find_summary(r, "latency_p99_us")) {
      out << fmt::format("  Latency       p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                         duration_us(summary_median(r, "latency_p50_us")), duration_us(summary_median(r, "latency_p90_us")),
                         spread(r, "latency_p99_us", duration_us), duration_us(summary_median(r, "latency_p999_us")),
                         duration_us(summary_median(r, "latency_max_us")));
      out << fmt::format("                uncorrected p99 {}  hop1 p99 {}  hop2 p99 {}  TTFT {}  inter-token p99 {}\n",
                         duration_us(summary_median(r, "latency_uncorrected_p99_us")), duration_us(summary_median(r, "hop1_p99_us")),
                         duration_us(summary_median(r, "hop2_p99_us")), duration_us(summary_median(r, "ttft_us")),
                         duration_us(summary_median(r, "itl_p99_us")));
    }
    if (find_summary(r, "stream_tps_median")) {
      // The worst stream of the median repetition would be arbitrary: name the worst of the last one.
      const auto worst_stream = r.repetitions.back().metrics.get("worst_stream");
      out << fmt::format("  Fairness      per-stream throughput min {} median {} max {}, Jain index {:.3f}; "
                         "per-stream p99 median {} max {} (stream {} in the last repetition)\n",
                         si(summary_median(r, "stream_tps_min"), "tokens/s"), si(summary_median(r, "stream_tps_median"), "tokens/s"),
                         si(summary_median(r, "stream_tps_max"), "tokens/s"), summary_median(r, "fairness_jain"),
                         duration_us(summary_median(r, "stream_p99_median_us")), duration_us(summary_median(r, "stream_p99_max_us")),
                         worst_stream ? fmt::format("{:.0f}", *worst_stream) : "?");
    }
    if (find_summary(r, "quit_latency_us"))
      out << fmt::format("  Quit          {}\n", spread(r, "quit_latency_us", duration_us));
    if (find_summary(r, "shutdown_lost") && worst(r, "shutdown_lost") != "0")
      out << fmt::format("  Quit          ShuttingDown was dropped by the full surface channel in {} of {} repetitions: "
                         "the surface never heard of the quit\n",
                         count_nonzero(r, "shutdown_lost"), r.repetitions.size());
    // Growth is measured from the scenario's baseline, so that is what is printed beside it.
    out << fmt::format("  Memory        RSS baseline {}  peak {}  growth (peak - baseline) {}   before {}  end {}\n",
                       mib(summary_median(r, "rss_baseline_bytes")), mib(summary_median(r, "rss_peak_bytes")),
                       spread(r, "rss_growth_bytes", mib), mib(summary_median(r, "rss_before_bytes")),
                       mib(summary_median(r, "rss_end_bytes")));
    out << fmt::format("  CPU           share {} of {}  (backend {:.3f} s, conductor {:.3f} s, surface {:.3f} s; ctx switches {} / {})\n",
                       spread(r, "cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                       "all cores", summary_median(r, "cpu_backend_s"), summary_median(r, "cpu_conductor_s"),
                       summary_median(r, "cpu_surface_s"), grouped(summary_median(r, "ctx_switches_voluntary")),
                       grouped(summary_median(r, "ctx_switches_involuntary")));
    if (find_summary(r, "foreign_cpu_share"))
      out << fmt::format("                other work on the machine {}{}\n",
                         spread(r, "foreign_cpu_share", [](double v) { return fmt::format("{:.1f} %", v * 100); }),
                         r.disturbed_reruns.empty() ? ""
                                                    : fmt::format("  ({} disturbed repetitions discarded and taken again)",
                                                                  r.disturbed_reruns.size()));
    if (const MetricSummary* c = find_summary(r, "instructions_per_token_conductor")) {
      // The runs' spread as well: a count that does not repeat is not exact, and says so.
      double spread_max = 0;
      for (const char* m : {"instructions_per_token_backend", "instructions_per_token_conductor", "instructions_per_token_surface"})
        if (const MetricSummary* x = find_summary(r, m); x && x->median > 0)
          spread_max = std::max(spread_max, (x->max - x->min) / x->median);
      out << fmt::format("  Work          instructions per token: backend {:.2f}  conductor {:.2f}  surface {:.2f};  per "
                         "frame {}  ({} runs under callgrind, at most {:.3f} % apart)\n",
                         summary_median(r, "instructions_per_token_backend"), c->median,
                         summary_median(r, "instructions_per_token_surface"),
                         grouped(summary_median(r, "instructions_per_frame_surface")), c->n, spread_max * 100);
    }
    out << fmt::format("  Queues        token channel max {} mean {:.0f}, surface channel max {} mean {:.0f}, producer blocked {:.3f} s\n",
                       grouped(summary_median(r, "channel_max_depth")), summary_median(r, "channel_mean_depth"),
                       grouped(summary_median(r, "surface_channel_max_depth")), summary_median(r, "surface_channel_mean_depth"),
                       summary_median(r, "producer_blocked_s"));
  }
}

}  // namespace aiway
