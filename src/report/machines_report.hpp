// compare-machines BASE NEW: the same scenarios on two machines, each
// scenario's difference attributed to the machine or to the software
// (compare/attribution.hpp), as a console table or an HTML page with a chart
// per scenario; the calibration scores' ratio as a secondary view.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "aiway/results.hpp"
#include "compare/attribution.hpp"

namespace aiway {

struct MachinesRow {
  std::string scenario;
  MachineAttribution attribution;
};
struct MachinesView {
  MachineInfo base, current;
  std::vector<MachinesRow> rows;  // scenarios on both sides, in the new results' order
  std::vector<std::string> only_in_base, only_in_new;
};
MachinesView machines_view(const RunResults& base, const RunResults& current);

void print_machines(const MachinesView& view, std::ostream& out);
std::string machines_html(const MachinesView& view);

}  // namespace aiway
