// The metric table of the docs, written from the descriptor table
// (aiway/metrics.hpp): `aiway-stress metrics` prints it, docs/results.md
// carries it, and a test keeps the two equal.
#pragma once

#include <string>

namespace aiway {

std::string metric_table_markdown();

}  // namespace aiway
