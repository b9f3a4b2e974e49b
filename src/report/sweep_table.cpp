#include "report/sweep_table.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "compare/statistics.hpp"

namespace aiway {
SweepTable sweep_table(const RunResults& results) {
  SweepTable table;
  for (const auto& r : results.scenarios) {
    if (r.sweep.empty()) continue;
    if (table.fields.empty())
      for (const auto& [field, value] : r.sweep) table.fields.push_back(field);
    SweepRow row;
    row.scenario = r.scenario.name.substr(0, r.scenario.name.find('['));
    for (const auto& field : table.fields) {
      auto it = std::find_if(r.sweep.begin(), r.sweep.end(), [&](const auto& p) { return p.first == field; });
      row.values.push_back(it == r.sweep.end() ? "" : it->second);
    }
    row.throughput_tps = summary_median(r, "throughput_tps");
    row.latency_p99_us = summary_median(r, "latency_p99_us");
    row.cpu_share = summary_median(r, "cpu_share");
    row.rss_growth_bytes = summary_median(r, "rss_growth_bytes");
    if (find_summary(r, "goodput_ratio")) row.goodput_ratio = summary_median(r, "goodput_ratio");
    row.passed = r.passed;
    table.rows.push_back(std::move(row));
  }
  return table;
}

void print_sweep_table(const SweepTable& table, bool markdown, std::ostream& out) {
  if (table.empty()) return;
  std::vector<std::string> header = {"scenario"};
  header.insert(header.end(), table.fields.begin(), table.fields.end());
  for (const char* h : {"tokens/s", "p99", "CPU share", "RSS growth"}) header.emplace_back(h);
  if (table.has_goodput()) header.emplace_back("goodput");
  header.emplace_back("result");
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : table.rows) {
    std::vector<std::string> line = {row.scenario};
    line.insert(line.end(), row.values.begin(), row.values.end());
    line.push_back(fmt::format("{:.0f}", row.throughput_tps));
    line.push_back(fmt::format("{:.3f} ms", row.latency_p99_us / 1e3));
    line.push_back(fmt::format("{:.1f} %", row.cpu_share * 100));
    line.push_back(fmt::format("{:.1f} MiB", row.rss_growth_bytes / (1024.0 * 1024.0)));
    if (table.has_goodput()) line.push_back(row.goodput_ratio ? fmt::format("{:.1f} %", *row.goodput_ratio * 100) : "-");
    line.push_back(row.passed ? "pass" : "FAIL");
    cells.push_back(std::move(line));
  }
  if (markdown) {
    out << "\n### Sweep\n\n|";
    for (const auto& h : header) out << " " << h << " |";
    out << "\n|";
    for (std::size_t i = 0; i < header.size(); ++i) out << (i == 0 ? "---|" : "---:|");
    out << "\n";
    for (const auto& line : cells) {
      out << "|";
      for (const auto& c : line) out << " " << c << " |";
      out << "\n";
    }
    return;
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& line : cells) width[i] = std::max(width[i], line[i].size());
  }
  out << "\n=== Sweep ===\n";
  auto print = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i)
      out << (i == 0 ? fmt::format("{:<{}}", line[i], width[i]) : fmt::format("  {:>{}}", line[i], width[i]));
    out << "\n";
  };
  print(header);
  for (const auto& line : cells) print(line);
}

}  // namespace aiway
