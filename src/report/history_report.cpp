#include "report/history_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "compare/statistics.hpp"

namespace aiway {
namespace {

nlohmann::ordered_json finite(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); }

}  // namespace

void print_history_check(const HistoryCheck& c, const std::string& format, std::ostream& out) {
  if (format == "json") {
    nlohmann::ordered_json j;
    j["regressed"] = c.regressed();
    j["inconclusive"] = c.inconclusive();
    j["headline"] = c.headline();
    j["verdicts"] = nlohmann::ordered_json::array();
    for (const auto& v : c.verdicts)
      j["verdicts"].push_back({{"scenario", v.scenario}, {"metric", v.metric}, {"runs", v.runs},
                               {"typical", finite(v.typical)}, {"new_median", v.new_median}, {"change", finite(v.change)},
                               {"p_value", v.p_value}, {"p_adjusted", v.p_adjusted}, {"verdict", to_string(v.verdict)},
                               {"reason", v.reason}});
    out << j.dump(2) << "\n";
    return;
  }
  for (const auto& v : c.verdicts)
    out << fmt::format("{:<22} {:<18} {:>10} -> {:>10}  {:<12}  {}\n", v.scenario, v.metric, plain_number(v.typical), plain_number(v.new_median),
                       to_string(v.verdict), v.reason);
  out << c.headline() << "\n";
}

void print_history_changes(const std::vector<SeriesChanges>& series, const std::string& format, std::ostream& out) {
  if (format == "json") {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& s : series) {
      nlohmann::ordered_json changes = nlohmann::ordered_json::array();
      for (const auto& c : s.changes)
        changes.push_back({{"run_id", c.run_id}, {"started_at", c.started_at}, {"git", c.git},
                           {"index", c.point.index}, {"p_value", c.point.p_value},
                           {"mean_before", c.point.mean_before}, {"mean_after", c.point.mean_after}});
      j.push_back({{"fingerprint", s.fingerprint}, {"scenario", s.scenario}, {"metric", s.metric}, {"runs", s.runs},
                   {"changes", std::move(changes)}});
    }
    out << j.dump(2) << "\n";
    return;
  }
  std::size_t total = 0;
  for (const auto& s : series)
    for (const auto& c : s.changes) {
      ++total;
      // p 0: a step in a count of work (compare/series.hpp), which no test of chance decided.
      out << fmt::format("{} {}: change at run {} (git {}, {}): {} -> {} ({:+.1f} %), {}\n", s.scenario,
                         s.metric, c.run_id, c.git, c.started_at, plain_number(c.point.mean_before), plain_number(c.point.mean_after),
                         c.point.mean_before != 0 ? (c.point.mean_after / c.point.mean_before - 1) * 100 : 0.0,
                         c.point.p_value == 0 ? std::string("a step in counted work") : "p = " + plain_p(c.point.p_value));
    }
  out << fmt::format("{} change point{} in {} series\n", total, total == 1 ? "" : "s", series.size());
}

}  // namespace aiway
