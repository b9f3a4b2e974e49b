#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compare/disturbance.hpp"
#include "compare/statistics.hpp"
#include "report/svg_chart.hpp"
#include "results/results_json.hpp"
#include "report/sweep_table.hpp"

namespace aiway {
namespace {

constexpr const char* kRunColor = "#1f6fd1";
constexpr const char* kBaseColor = "#8a8f98";
constexpr const char* kStageColors[] = {"#1f6fd1", "#e07b1a", "#2f9e44"};

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1340px;color:#1d2430;background:#f6f7f9}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.meta{color:#5a6270;margin-bottom:12px}.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #d8dce3;border-radius:6px}
.chart .title{font-size:14px;font-weight:600;fill:#1d2430}.chart .tick{font-size:11px;fill:#5a6270}
.chart .label{font-size:12px;fill:#3a4250}.chart .legend{font-size:11px;fill:#3a4250}
.chart .grid{stroke:#eceef2}.chart .axis{stroke:#9aa1ad}.chart .band{fill:#8a8f98;opacity:.18}
.chart .band-middle{stroke:#8a8f98;stroke-dasharray:4 3}
table{border-collapse:collapse;background:#fff;margin:8px 0}td,th{border:1px solid #d8dce3;padding:4px 8px;text-align:right}
th{background:#eef0f4}td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){text-align:left}
.pass{color:#2f7d32;font-weight:600}.fail,.regressed{color:#c62828;font-weight:600}.improved{color:#2f7d32}
.inconclusive{color:#a86b00}.unchanged{color:#5a6270}.warn{background:#fff4d6;border:1px solid #f0d48a;padding:6px 10px;border-radius:4px}
)";

}  // namespace

std::string_view report_style() { return kStyle; }

namespace {

double metric(const Repetition& rep, const char* name) { return rep.metrics.get(name).value_or(NAN); }

// The repetition whose p99 is the median one: its spectrum stands for the run.

ChartSeries spectrum_series(const Repetition& rep, std::string label, const char* color, bool dashed) {
  ChartSeries s{std::move(label), {}, color, dashed, false};
  for (const auto& line : rep.latency_spectrum)
    if (line.percentile < 1.0) s.points.emplace_back(1.0 / (1.0 - line.percentile), line.value_us / 1e3);
  return s;
}

const ScenarioResult* find(const RunResults* results, const std::string& name) {
  if (!results) return nullptr;
  for (const auto& s : results->scenarios)
    if (s.scenario.name == name) return &s;
  return nullptr;
}

// Memory: the RSS timeline where the repetitions sampled one (the model in
// this process); else the peaks a process target's books hold (the harness's,
// the target's before, peak and end), so no chart is drawn empty.
std::string memory_chart(const ScenarioResult& r) {
  const bool timeline = std::any_of(r.repetitions.begin(), r.repetitions.end(),
                                    [](const Repetition& rep) { return !rep.rss_timeline.empty(); });
  if (!timeline) {
    std::vector<Bar> bars;
    const auto add = [&](const char* label, const char* metric, const char* color) {
      if (find_summary(r, metric)) bars.push_back({label, summary_median(r, metric) / (1024.0 * 1024.0), color});
    };
    add("harness peak", "rss_peak_bytes", kStageColors[0]);
    add("target before", "target_rss_before_bytes", kStageColors[1]);
    add("target peak", "target_rss_peak_bytes", kStageColors[1]);
    add("target end", "target_rss_end_bytes", kStageColors[1]);
    return render_bar_chart("rss", "RSS (MiB, median)", "MiB", bars);
  }
  LineChart rss{"rss", "RSS over time (sampler)", "seconds into the repetition", "RSS (MiB)", XAxis::linear, {}, {}, std::nullopt, {}, false};
  const char* shades[] = {"#1f6fd1", "#5b8fdc", "#86aee6", "#a9c5ee", "#c7d9f4"};
  for (std::size_t i = 0; i < r.repetitions.size() && i < 5; ++i) {
    ChartSeries line{fmt::format("rep {}", i + 1), {}, shades[i], false, false};
    for (const auto& p : r.repetitions[i].rss_timeline) line.points.emplace_back(p.t_s, double(p.rss_bytes) / (1024.0 * 1024.0));
    rss.series.push_back(std::move(line));
  }
  // Growth is peak minus this baseline: draw it, and where the threshold puts the peak's limit.
  if (const double baseline = summary_median(r, "rss_baseline_bytes") / (1024.0 * 1024.0); baseline > 0) {
    rss.rules.push_back({baseline, fmt::format("baseline {:.1f} MiB", baseline), "#555"});
    if (const auto& limit = r.scenario.expect.max_rss_growth_mib)
      rss.rules.push_back({baseline + *limit, fmt::format("baseline + {} MiB limit", plain_number(*limit))});
  }
  return render_line_chart(rss);
}

// CPU: per stage where the stages run in this process; else the harness
// against the process under test (a conductor, a proxy).
std::string cpu_chart(const ScenarioResult& r) {
  const double wall = summary_median(r, "wall_s");
  const auto share = [&](const char* metric) { return wall > 0 ? summary_median(r, metric) / wall * 100 : 0; };
  std::vector<Bar> bars;
  if (find_summary(r, "cpu_backend_s")) {
    const char* names[] = {"backend", "conductor", "surface"};
    const char* metrics[] = {"cpu_backend_s", "cpu_conductor_s", "cpu_surface_s"};
    for (int i = 0; i < 3; ++i) bars.push_back({names[i], share(metrics[i]), kStageColors[i]});
    return render_bar_chart("cpu", "CPU per stage (% of one core, median)", "% of one core", bars);
  }
  bars.push_back({"harness", share("cpu_seconds"), kStageColors[0]});
  if (find_summary(r, "target_cpu_s")) bars.push_back({"target", share("target_cpu_s"), kStageColors[1]});
  return render_bar_chart("cpu", "CPU: the harness and the target (% of one core, median)", "% of one core", bars);
}

std::string scenario_section(const ScenarioResult& r, const ScenarioResult* base) {
  std::string html = fmt::format("<h2 id=\"{0}\">{0} <span class=\"{1}\">{2}</span></h2>", escape_xml(r.scenario.name),
                                 r.passed ? "pass" : "fail", r.passed ? "passed" : "FAILED");
  html += fmt::format("<p class=\"meta\">{}<br>{} repetitions; median {} tokens/s, p99 {} ms, CPU share {:.1f} %</p>",
                      escape_xml(r.scenario.description), r.repetitions.size(), plain_number(summary_median(r, "throughput_tps")),
                      plain_number(summary_median(r, "latency_p99_us") / 1e3), summary_median(r, "cpu_share") * 100);
  if (!r.failure.empty()) html += fmt::format("<p class=\"warn\">Run failed: {}</p>", escape_xml(r.failure));
  if (const std::string d = describe_disturbed(disturbance_of(r)); !d.empty())
    html += fmt::format("<p class=\"warn\">{}: a comparison calls its changes inconclusive.</p>", escape_xml(d));
  html += "<div class=\"charts\">";

  LineChart spectrum{"spectrum", "Latency by percentile (end to end, corrected)", "percentile", "latency (ms)",
                     XAxis::log_percentile, {}, {}, std::nullopt, {}, false};
  if (const Repetition* rep = representative_repetition(r)) spectrum.series.push_back(spectrum_series(*rep, "this run", kRunColor, false));
  if (base)
    if (const Repetition* rep = representative_repetition(*base)) spectrum.series.push_back(spectrum_series(*rep, "baseline", kBaseColor, true));
  html += render_line_chart(spectrum);

  LineChart throughput{"throughput", "Throughput per repetition", "repetition", "tokens/s", XAxis::linear, {}, {}, std::nullopt, {}, false};
  ChartSeries dots{"this run", {}, kRunColor, false, true};
  for (std::size_t i = 0; i < r.repetitions.size(); ++i) dots.points.emplace_back(double(i + 1), metric(r.repetitions[i], "throughput_tps"));
  throughput.series.push_back(std::move(dots));
  if (base && !base->repetitions.empty()) {
    std::vector<double> v;
    for (const auto& rep : base->repetitions) v.push_back(metric(rep, "throughput_tps"));
    std::sort(v.begin(), v.end());
    throughput.band = ChartBand{v.front(), v.back(), summary_median(*base, "throughput_tps"), "baseline min..max, median"};
  }
  throughput.integer_x = true;
  if (const auto& limit = r.scenario.expect.min_throughput_tps)
    throughput.rules.push_back({*limit, fmt::format("threshold >= {}", plain_number(*limit))});
  html += render_line_chart(throughput);

  html += memory_chart(r);
  html += cpu_chart(r);
  html += "</div>";
  if (!r.thresholds.empty()) {
    html += "<table class=\"thresholds\"><tr><th>threshold</th><th>limit</th><th>judged on</th><th>value</th><th>result</th></tr>";
    for (const auto& t : r.thresholds)
      html += fmt::format("<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                          escape_xml(t.metric), escape_xml(t.op), plain_number(t.limit), escape_xml(t.aggregate),
                          t.value ? plain_number(*t.value) : std::string("not measured"), t.passed ? "pass" : "fail",
                          t.passed ? "pass" : "FAIL");
    html += "</table>";
  }
  return html;
}

std::string sweep_section(const RunResults& results) {
  const SweepTable table = sweep_table(results);
  if (table.empty()) return "";
  std::string html = "<h2 id=\"sweep\">Sweep</h2><div class=\"charts\">";
  std::vector<std::string> categories;
  for (const auto& row : table.rows) {
    std::string label;
    for (const auto& v : row.values) label += (label.empty() ? "" : ",") + v;
    categories.push_back(label);
  }
  std::string fields;
  for (const auto& f : table.fields) fields += (fields.empty() ? "" : ", ") + f;
  struct Curve {
    const char* id;
    const char* title;
    const char* unit;
    double (*value)(const SweepRow&);
  };
  const Curve curves[] = {
      {"sweep-throughput", "Throughput by setting", "tokens/s", [](const SweepRow& r) { return r.throughput_tps; }},
      {"sweep-p99", "p99 latency by setting", "ms", [](const SweepRow& r) { return r.latency_p99_us / 1e3; }},
      {"sweep-cpu", "CPU share by setting", "% of all cores", [](const SweepRow& r) { return r.cpu_share * 100; }},
      {"sweep-goodput", "Goodput by setting (streams that met every SLO)", "%",
       [](const SweepRow& r) { return r.goodput_ratio.value_or(0) * 100; }},
  };
  for (const auto& curve : curves) {
    if (std::string_view(curve.id) == "sweep-goodput" && !table.has_goodput()) continue;
    LineChart chart{curve.id, curve.title, fields, curve.unit, XAxis::categories, categories, {}, std::nullopt, {}, false};
    ChartSeries line{"", {}, kRunColor, false, false};
    ChartSeries dots{"", {}, kRunColor, false, true};
    for (std::size_t i = 0; i < table.rows.size(); ++i) {
      line.points.emplace_back(double(i), curve.value(table.rows[i]));
      dots.points.emplace_back(double(i), curve.value(table.rows[i]));
    }
    chart.series = {std::move(line), std::move(dots)};
    html += render_line_chart(chart);
  }
  return html + "</div>";
}

std::string verdict_section(const Comparison& c) {
  std::string html = "<h2 id=\"verdicts\">Comparison with the baseline</h2>";
  if (!c.same_machine) html += fmt::format("<p class=\"warn\">{}</p>", escape_xml(c.machine_note));
  for (const auto& note : c.workload_notes) html += fmt::format("<p class=\"fail\">{}</p>", escape_xml(note));
  for (const auto& note : c.method_notes) html += fmt::format("<p class=\"warn\">{}</p>", escape_xml(note));
  html += fmt::format("<p class=\"{}\">{}</p>", c.regressed() ? "fail" : "pass", escape_xml(c.headline()));
  // The verdicts that say something first; every metric in a folded table below.
  auto table = [&](bool notable_only) {
    std::string t = "<table><tr><th>scenario</th><th>metric</th><th>gating</th><th>base</th><th>new (measured)</th>"
                    "<th>measured change</th><th>judged change</th><th>95 % CI</th><th>p (adjusted)</th><th>verdict</th></tr>";
    std::size_t rows = 0;
    for (const auto& s : c.scenarios)
      for (const auto& m : s.metrics) {
        if (notable_only && m.verdict == Verdict::unchanged) continue;
        ++rows;
        t += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:+.1f} %</td><td>{:+.1f} %{}</td>"
                         "<td>[{:+.1f} %, {:+.1f} %]</td><td>{}</td><td class=\"{}\" title=\"{}\">{}</td></tr>",
                         escape_xml(s.scenario), m.metric, m.gating ? "yes" : "advisory", plain_number(m.base_median), plain_number(m.new_median),
                         m.raw_change * 100, m.change * 100, m.normalised ? " (normalised)" : "", m.ci.low * 100,
                         m.ci.high * 100, plain_p(m.p_adjusted), to_string(m.verdict), escape_xml(m.reason), to_string(m.verdict));
      }
    return std::pair{t + "</table>", rows};
  };
  const auto [notable, notable_rows] = table(true);
  const auto [all, all_rows] = table(false);
  html += notable_rows > 0 ? notable : "<p>Every metric unchanged.</p>";
  html += fmt::format("<details><summary>All {} compared metrics</summary>{}</details>", all_rows, all);
  for (const auto& name : c.scenarios_only_in_base) html += fmt::format("<p>Scenario {} is only in the baseline.</p>", escape_xml(name));
  for (const auto& name : c.scenarios_only_in_new) html += fmt::format("<p>Scenario {} is only in these results.</p>", escape_xml(name));
  return html;
}

}  // namespace

std::string html_report(const RunResults& results, const RunResults* baseline, const Comparison* comparison) {
  const MachineInfo& m = results.machine;
  std::string html = fmt::format(
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aiway-stress report</title>"
      "<style>{}</style></head><body><h1>aiway-stress: {}</h1>"
      "<p class=\"meta\">{} on {} ({} logical CPUs{}), {} {} with {}, git {}; started {}; repetitions over {} process{}</p>",
      kStyle, results.passed ? "passed" : results.interrupted ? "interrupted" : "FAILED", escape_xml(results.tool.version),
      escape_xml(m.cpu_model), m.logical_cpus,
      m.calibration ? fmt::format(", calibration score {:.3f}", m.calibration->score) : std::string(),
      escape_xml(results.tool.compiler), escape_xml(results.tool.build_type), escape_xml(results.tool.allocator),
      escape_xml(results.tool.git), escape_xml(results.started_at), results.method.processes,
      results.method.processes == 1 ? "" : "es");
  if (results.interrupted) html += fmt::format("<p class=\"warn\">{}: partial results</p>", describe_interrupted(results));
  html += "<table><tr><th>scenario</th><th>result</th><th>reps</th><th>tokens/s</th><th>p99 (ms)</th><th>CPU share</th><th>RSS growth (MiB)</th></tr>";
  for (const auto& r : results.scenarios)
    html += fmt::format("<tr><td><a href=\"#{0}\">{0}</a></td><td class=\"{1}\">{2}</td><td>{3}</td><td>{4}</td><td>{5}</td>"
                        "<td>{6:.1f} %</td><td>{7:.1f}</td></tr>",
                        escape_xml(r.scenario.name), r.passed ? "pass" : "fail", r.passed ? "pass" : "FAIL", r.repetitions.size(),
                        plain_number(summary_median(r, "throughput_tps")), plain_number(summary_median(r, "latency_p99_us") / 1e3),
                        summary_median(r, "cpu_share") * 100,
                        summary_median(r, "rss_growth_bytes") / (1024.0 * 1024.0));
  html += "</table>";
  if (comparison) html += verdict_section(*comparison);
  html += sweep_section(results);
  for (const auto& r : results.scenarios) html += scenario_section(r, find(baseline, r.scenario.name));
  return html + "</body></html>\n";
}

}  // namespace aiway
