// history check and history changes, as text or JSON.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "compare/history_check.hpp"
#include "compare/series.hpp"

namespace aiway {

void print_history_check(const HistoryCheck& check, const std::string& format, std::ostream& out);

// One series' change points, with the runs they name.
struct SeriesChanges {
  std::string fingerprint, scenario, metric;
  std::size_t runs = 0;
  struct Change {
    ChangePoint point;
    std::string started_at, git;  // of the first run after the change
    std::int64_t run_id = 0;
  };
  std::vector<Change> changes;
};
void print_history_changes(const std::vector<SeriesChanges>& series, const std::string& format, std::ostream& out);

}  // namespace aiway
