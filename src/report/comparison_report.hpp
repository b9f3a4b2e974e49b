// The comparison of two results, as a console table, Markdown (for a CI job
// summary or a pull-request comment) or JSON.
#pragma once

#include <ostream>
#include <string>

#include "compare/verdict.hpp"

namespace aiway {

void print_comparison(const Comparison& comparison, const std::string& format, bool color, std::ostream& out);

}  // namespace aiway
