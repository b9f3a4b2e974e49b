#include "report/machines_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compare/statistics.hpp"
#include "report/html_report.hpp"
#include "report/xml_text.hpp"

namespace aiway {
namespace {

std::string machine_line(const MachineInfo& m) {
  return fmt::format("{}{} ({}, {} CPUs{})", m.fingerprint, m.label.empty() ? "" : " \"" + m.label + "\"", m.cpu_model,
                     m.logical_cpus, m.calibration ? fmt::format(", calibration score {:.2f}", m.calibration->score) : "");
}

std::string change_text(const std::optional<double>& change) {
  return change ? fmt::format("{:+.1f} %", *change * 100) : std::string("-");
}

// One scenario's chart: time per token and instructions per token, as bars
// from 0 % on a scale both share.
std::string chart(const MachinesRow& row) {
  constexpr double kWidth = 420, kBarLeft = 110, kBarSpan = 300;
  const auto& a = row.attribution;
  const double reach = std::max({0.05, std::fabs(a.time_change.value_or(0)), std::fabs(a.instruction_change.value_or(0))});
  const double zero = kBarLeft + kBarSpan / 2;
  std::string svg = fmt::format("<svg class=\"chart\" width=\"{}\" height=\"96\" role=\"img\"><text class=\"title\" x=\"8\" "
                                "y=\"18\">{}</text><line class=\"axis\" x1=\"{}\" y1=\"26\" x2=\"{}\" y2=\"86\"/>",
                                kWidth, escape_xml(row.scenario), zero, zero);
  const auto bar = [&](const char* label, const std::optional<double>& change, double y, const char* color) {
    svg += fmt::format("<text class=\"label\" x=\"8\" y=\"{}\">{}</text>", y + 13, label);
    if (!change) {
      svg += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\">not measured</text>", zero + 4, y + 13);
      return;
    }
    const double length = *change / reach * kBarSpan / 2;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"16\" fill=\"{}\"/><text class=\"tick\" "
                       "x=\"{:.1f}\" y=\"{}\">{}</text>",
                       std::min(zero, zero + length), y, std::max(1.0, std::fabs(length)), color,
                       *change >= 0 ? zero + std::fabs(length) + 4 : zero + 4, y + 13, change_text(change));
  };
  bar("time / token", a.time_change, 32, "#1f6fd1");
  bar("instructions", a.instruction_change, 60, "#e07b1a");
  return svg + "</svg>";
}

}  // namespace

MachinesView machines_view(const RunResults& base, const RunResults& current) {
  MachinesView view{base.machine, current.machine, {}, {}, {}};
  for (const auto& n : current.scenarios) {
    const auto b = std::find_if(base.scenarios.begin(), base.scenarios.end(),
                                [&](const auto& s) { return s.scenario.name == n.scenario.name; });
    if (b == base.scenarios.end()) view.only_in_new.push_back(n.scenario.name);
    else view.rows.push_back({n.scenario.name, attribute_change(*b, n)});
  }
  for (const auto& b : base.scenarios)
    if (std::none_of(current.scenarios.begin(), current.scenarios.end(),
                     [&](const auto& s) { return s.scenario.name == b.scenario.name; }))
      view.only_in_base.push_back(b.scenario.name);
  return view;
}

void print_machines(const MachinesView& view, std::ostream& out) {
  out << fmt::format("base: {}\nnew:  {}\n", machine_line(view.base), machine_line(view.current));
  if (view.base.calibration && view.current.calibration)
    out << fmt::format("calibration scores: new / base = {:.2f} (a secondary view: a first-order score of the machines)\n",
                       view.current.calibration->score / view.base.calibration->score);
  out << fmt::format("\n{:<28} {:>14} {:>14}  {:<12} {}\n", "scenario", "time/token", "instructions", "difference", "");
  for (const auto& row : view.rows)
    out << fmt::format("{:<28} {:>14} {:>14}  {:<12} {}\n", row.scenario, change_text(row.attribution.time_change),
                       change_text(row.attribution.instruction_change), to_string(row.attribution.cause),
                       row.attribution.says);
  for (const auto& name : view.only_in_base) out << fmt::format("{}: only in the base\n", name);
  for (const auto& name : view.only_in_new) out << fmt::format("{}: only in the new results\n", name);
}

std::string machines_html(const MachinesView& view) {
  std::string html = fmt::format("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aiway-stress: two "
                                 "machines</title><style>{}</style></head><body><h1>Two machines</h1><p class=\"meta\">base: {}"
                                 "<br>new: {}</p>",
                                 report_style(), escape_xml(machine_line(view.base)), escape_xml(machine_line(view.current)));
  html += "<p>Time per token moves with the machine and with the software; instructions per token (run "
          "--count-instructions) only with the software. Equal instructions and a different time: the machine.</p>";
  html += "<table><tr><th>scenario</th><th>difference</th><th>time / token</th><th>instructions / token</th>"
          "<th>what it says</th></tr>";
  for (const auto& row : view.rows)
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                        escape_xml(row.scenario), to_string(row.attribution.cause),
                        change_text(row.attribution.time_change), change_text(row.attribution.instruction_change),
                        escape_xml(row.attribution.says));
  html += "</table><div class=\"charts\">";
  for (const auto& row : view.rows) html += chart(row);
  return html + "</div></body></html>\n";
}

}  // namespace aiway
