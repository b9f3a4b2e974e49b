#include <fmt/format.h>

#include <algorithm>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "report/reporter.hpp"
#include "report/sweep_table.hpp"
#include "report/xml_text.hpp"
#include <fmt/ranges.h>

namespace aiway {
namespace {

// run --count-instructions: each stage's instructions per token, for the scenarios that counted them.
void print_counted_work(const RunResults& results, std::ostream& out) {
  bool header = false;
  for (const auto& r : results.scenarios) {
    const MetricSummary* conductor = find_summary(r, "instructions_per_token_conductor");
    if (!conductor) continue;
    if (!header)
      out << "\n| scenario | instructions / token: backend | conductor | surface | runs |\n|---|---:|---:|---:|---:|\n";
    header = true;
    out << fmt::format("| {} | {:.2f} | {:.2f} | {:.2f} | {} |\n", escape_markdown(r.scenario.name),
                       summary_median(r, "instructions_per_token_backend"), conductor->median,
                       summary_median(r, "instructions_per_token_surface"), conductor->n);
  }
}

// A table fit for a CI job summary or a pull-request comment.
class MarkdownReporter final : public Reporter {
 public:
  void report(const RunResults& results, std::ostream& out) const override {
    out << fmt::format("## aiway-stress: {}\n\n", results.passed ? "passed" : results.interrupted ? "interrupted" : "FAILED");
    if (results.interrupted) out << fmt::format("> **{}**: partial results.\n\n", describe_interrupted(results));
    out << fmt::format("`{}` on {} ({} CPUs), {} {}, {}, git {}\n\n", results.tool.version, results.machine.cpu_model,
                       results.machine.logical_cpus, results.tool.compiler, results.tool.build_type,
                       results.tool.allocator, results.tool.git);
    out << "| scenario | result | reps | tokens/s (median) | CV | p99 | CPU share | RSS growth | lost |\n";
    out << "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : results.scenarios) {
      const MetricSummary* throughput = find_summary(r, "throughput_tps");
      const double cv = throughput ? throughput->cv : 0;
      const auto unstable = unstable_headline_metrics(r);
      out << fmt::format("| {} | {} | {} | {:.0f} | {:.1f} %{} | {:.2f} ms | {:.1f} % | {:.1f} MiB | {:.0f} |\n", escape_markdown(r.scenario.name),
                         r.passed ? "pass" : "**FAIL**", r.repetitions.size(), summary_median(r, "throughput_tps"), cv * 100,
                         unstable.empty() ? "" : fmt::format(" (unstable: {})", fmt::join(unstable, ", ")), summary_median(r, "latency_p99_us") / 1e3,
                         summary_median(r, "cpu_share") * 100, summary_median(r, "rss_growth_bytes") / (1024.0 * 1024.0),
                         summary_median(r, "lost_unaccounted"));
    }
    for (const auto& r : results.scenarios)
      if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
        out << fmt::format("\n> **Warning** `{}`: {}: a comparison will call its timing changes inconclusive (counted "
                           "instructions still decide).\n", escape_markdown(r.scenario.name), d);
    print_counted_work(results, out);
    print_sweep_table(sweep_table(results), /*markdown=*/true, out);
    for (const auto& r : results.scenarios) {
      const bool failed = !r.failure.empty() ||
                          std::any_of(r.thresholds.begin(), r.thresholds.end(), [](const auto& t) { return !t.passed; });
      if (!failed) continue;
      out << fmt::format("\n### {}\n\n", escape_markdown(r.scenario.name));
      if (!r.failure.empty()) out << fmt::format("Run failed: {}\n\n", escape_markdown(r.failure));
      for (const auto& t : r.thresholds)
        if (!t.passed)
          out << fmt::format("- `{} {} {}`: {} was {}\n", t.metric, t.op, plain_number(t.limit), t.aggregate,
                             t.value ? plain_number(*t.value) : std::string("not measured"));
    }
  }
};

}  // namespace

std::unique_ptr<Reporter> make_markdown_reporter() { return std::make_unique<MarkdownReporter>(); }

}  // namespace aiway
