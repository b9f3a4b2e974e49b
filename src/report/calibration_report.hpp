// `aiway-stress calibrate`: the machine's score and its three parts.
#pragma once

#include <ostream>
#include <string>

#include "aiway/results.hpp"

namespace aiway {

void print_calibration(const Calibration& calibration, const std::string& format, std::ostream& out);

}  // namespace aiway
