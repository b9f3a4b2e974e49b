#include "report/comparison_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compare/statistics.hpp"
#include "report/xml_text.hpp"

namespace aiway {
namespace {

std::string percent(double change) {
  if (!std::isfinite(change)) return change > 0 ? "+inf" : "-inf";
  return fmt::format("{:+.1f} %", change * 100);
}

std::string speed_note(double ratio) {
  return fmt::format("Calibration: the new machine scores {:.2f}x the base machine. Figures of speed (throughput, "
                     "latency, stage CPU time; never those a schedule or a network delay bounds) are judged "
                     "normalised by that ratio; the measured figure is shown beside.",
                     ratio);
}

std::string number(double v) { return plain_number(v); }

// The new figure as measured, with the normalised one beside when it differs.
std::string new_figure(const MetricComparison& m) {
  return m.normalised ? fmt::format("{} (normalised {})", number(m.new_median), number(m.new_median_judged))
                      : number(m.new_median);
}

std::string detectable(const MetricComparison& m) {
  return std::isfinite(m.detectable) ? fmt::format("{:.1f} %", m.detectable * 100) : "none";
}

void notes(const Comparison& c, std::string_view prefix, std::ostream& out) {
  for (const auto& note : c.workload_notes) out << prefix << "WARNING: " << note << "\n";
  if (!c.same_machine) out << prefix << "Warning: " << c.machine_note << "\n";
  if (c.speed_ratio) out << prefix << speed_note(*c.speed_ratio) << "\n";
  for (const auto& note : c.method_notes) out << prefix << "Note: " << note << "\n";
}

void print_markdown(const Comparison& c, std::ostream& out) {
  out << "## aiway-stress comparison\n\n";
  std::ostringstream n;
  notes(c, "", n);
  // The quote marker is Markdown; only the note's text is escaped.
  std::istringstream lines(n.str());
  for (std::string line; std::getline(lines, line);) out << "> " << escape_markdown(line) << "\n\n";
  out << "| scenario | metric | gating | base | new | measured change | judged change | 95 % CI | p (adjusted) | "
         "detectable | verdict |\n"
         "|---|---|---|---:|---:|---:|---:|---|---:|---:|---|\n";
  for (const auto& s : c.scenarios)
    for (const auto& m : s.metrics)
      out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | [{}, {}] | {} | {} | {}{}{} |\n",
                         escape_markdown(s.scenario), m.metric, m.gating ? "yes" : "advisory", number(m.base_median),
                         new_figure(m), percent(m.raw_change), percent(m.change), percent(m.ci.low), percent(m.ci.high),
                         plain_p(m.p_adjusted), detectable(m), c.decides(m) && m.verdict == Verdict::regressed ? "**" : "",
                         to_string(m.verdict), c.decides(m) && m.verdict == Verdict::regressed ? "**" : "");
  for (const auto& name : c.scenarios_only_in_base) out << fmt::format("\nScenario `{}` is only in the base.\n", escape_markdown(name));
  for (const auto& name : c.scenarios_only_in_new) out << fmt::format("\nScenario `{}` is only in the new results: the base has no entry for it, so it was not compared.\n", escape_markdown(name));
  for (const auto& s : c.scenarios) {
    for (const auto& m : s.only_in_base) out << fmt::format("\n`{}`: metric `{}` is only in the base.\n", escape_markdown(s.scenario), m);
    for (const auto& m : s.only_in_new) out << fmt::format("\n`{}`: metric `{}` is only in the new results.\n", escape_markdown(s.scenario), m);
  }
  bool machines = false;
  for (const auto& s : c.scenarios) {
    if (!s.attribution) continue;
    if (!machines) out << "\n| scenario | two machines: the machine's or the software's |\n|---|---|\n";
    machines = true;
    out << fmt::format("| {} | {} |\n", escape_markdown(s.scenario), escape_markdown(s.attribution->says));
  }
  out << fmt::format("\n**{}**\n", c.headline());
}

nlohmann::ordered_json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

void print_json(const Comparison& c, std::ostream& out) {
  nlohmann::ordered_json j;
  j["same_machine"] = c.same_machine;
  j["machine_note"] = c.machine_note;
  j["speed_ratio"] = c.speed_ratio ? nlohmann::ordered_json(*c.speed_ratio) : nlohmann::ordered_json(nullptr);
  j["method_notes"] = c.method_notes;
  j["workload_notes"] = c.workload_notes;
  j["strict"] = c.strict;
  j["regressed"] = c.regressed();
  j["inconclusive"] = c.inconclusive();
  const auto counts = [](const VerdictCounts& n) {
    return nlohmann::ordered_json{{"regressed", n.regressed}, {"improved", n.improved},
                                  {"inconclusive", n.inconclusive}, {"unchanged", n.unchanged}};
  };
  j["counts"] = counts(c.counts(false));
  j["gating_counts"] = counts(c.counts(true));
  j["headline"] = c.headline();
  j["scenarios"] = nlohmann::ordered_json::array();
  for (const auto& s : c.scenarios) {
    nlohmann::ordered_json sj{{"name", s.scenario}, {"only_in_base", s.only_in_base}, {"only_in_new", s.only_in_new}};
    if (const auto& a = s.attribution) {
      nlohmann::ordered_json stages = nlohmann::ordered_json::object();
      for (const auto& [stage, change] : a->stage_changes) stages[stage] = change;
      sj["attribution"] = {{"cause", to_string(a->cause)},
                           {"time_change", a->time_change ? nlohmann::ordered_json(*a->time_change) : nullptr},
                           {"instruction_change", a->instruction_change ? nlohmann::ordered_json(*a->instruction_change) : nullptr},
                           {"stage_instruction_changes", stages}, {"says", a->says}};
    }
    sj["metrics"] = nlohmann::ordered_json::array();
    for (const auto& m : s.metrics)
      sj["metrics"].push_back({{"metric", m.metric}, {"gating", m.gating}, {"base_median", m.base_median},
                               {"new_median", m.new_median}, {"new_median_judged", m.new_median_judged},
                               {"change", finite_or_null(m.change)}, {"raw_change", finite_or_null(m.raw_change)},
                               {"normalised", m.normalised}, {"ci_low", m.ci.low}, {"ci_high", m.ci.high},
                               {"hodges_lehmann_shift", m.hl_shift}, {"p_harm", m.p_harm}, {"p_better", m.p_better},
                               {"p_adjusted", m.p_adjusted}, {"family", m.family}, {"rule", to_string(m.rule)},
                               {"detectable_change", finite_or_null(m.detectable)},
                               {"verdict", to_string(m.verdict)}, {"reason", m.reason}});
    j["scenarios"].push_back(std::move(sj));
  }
  j["scenarios_only_in_base"] = c.scenarios_only_in_base;
  j["scenarios_only_in_new"] = c.scenarios_only_in_new;
  out << j.dump(2) << "\n";
}

void print_console(const Comparison& c, bool color, std::ostream& out) {
  auto paint = [&](std::string_view text, Verdict v) {
    const char* code = v == Verdict::regressed ? "1;31" : v == Verdict::improved ? "32" : v == Verdict::inconclusive ? "33" : "";
    return color && *code ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
  };
  notes(c, "", out);
  for (const auto& s : c.scenarios) {
    out << fmt::format("\n{}\n", s.scenario);
    for (const auto& m : s.metrics)
      out << fmt::format("  {}{:<24} {:>10} -> {:>10}  {:>9}{}  CI [{}, {}]  {:<12}  {}\n", m.gating ? "* " : "  ",
                         m.metric, number(m.base_median), number(m.new_median), percent(m.raw_change),
                         m.normalised ? fmt::format(" (normalised {} -> {})", number(m.new_median_judged), percent(m.change)) : "",
                         percent(m.ci.low), percent(m.ci.high), paint(to_string(m.verdict), m.verdict), m.reason);
    for (const auto& m : s.only_in_base) out << fmt::format("    {:<24} only in the base\n", m);
    for (const auto& m : s.only_in_new) out << fmt::format("    {:<24} only in the new results\n", m);
    if (s.attribution) out << fmt::format("  two machines: {}\n", s.attribution->says);
  }
  for (const auto& name : c.scenarios_only_in_base) out << fmt::format("\nscenario {}: only in the base\n", name);
  for (const auto& name : c.scenarios_only_in_new) out << fmt::format("\nscenario {}: only in the new results: the base has no entry for it, so it was not compared\n", name);
  out << "\n* gating metric: decides the exit code" << (c.strict ? " (with --strict every metric does)" : "") << "\n"
      << c.headline() << "\n";
}

}  // namespace

void print_comparison(const Comparison& comparison, const std::string& format, bool color, std::ostream& out) {
  if (format == "markdown") print_markdown(comparison, out);
  else if (format == "json") print_json(comparison, out);
  else print_console(comparison, color, out);
}

}  // namespace aiway
