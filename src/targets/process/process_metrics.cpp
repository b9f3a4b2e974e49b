#include "targets/process/process_metrics.hpp"

#include <algorithm>

namespace aiway {

void set_process_metrics(const TargetSamples& samples, TargetProcess* process, const CpuUsage& usage, Metrics& m) {
  // The target process and its descendants; none for an HTTP target's direct path.
  const auto& before = samples.cpu_before;
  const auto& after = samples.cpu_after;
  const double target_cpu = before && after ? after->cpu_s - before->cpu_s : 0;
  if (before) {
    m.set("target_cpu_s", target_cpu);
    m.set("target_cpu_share", usage.share(target_cpu));
    m.set("target_runnable_share", samples.runnable_share);
    if (samples.idle_share >= 0) m.set("target_idle_cpu_share", samples.idle_share);
    if (samples.idle_runnable >= 0) m.set("target_idle_runnable_share", samples.idle_runnable);
    if (samples.rss_before) m.set("target_rss_before_bytes", double(samples.rss_before->rss_bytes));
    m.set("target_rss_peak_bytes",
          double(std::max<std::int64_t>(samples.rss_peak, samples.rss_before ? samples.rss_before->rss_bytes : 0)));
    if (samples.rss_end) m.set("target_rss_end_bytes", double(samples.rss_end->rss_bytes));
  }
  if (process && process->exit_value()) m.set("target_exit", double(*process->exit_value()));
  if (process) m.set("target_killed", process->needed_kill() ? 1 : 0);

  // The harness itself: it must stay far below what it measures.
  m.set("cpu_seconds", usage.cpu_s);
  m.set("cpu_share", usage.share(usage.cpu_s));
  m.set("rss_peak_bytes", double(rss_bytes()));
  // The target is measured, not foreign: only what neither of them used disturbs the run.
  if (usage.foreign_share) m.set("foreign_cpu_share", std::max(0.0, *usage.foreign_share - usage.share(target_cpu)));
}

}  // namespace aiway
