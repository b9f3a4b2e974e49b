// A resolved scenario as TOML text (`aiway-stress show`): every default filled in.
#pragma once

#include <string>

#include "aiway/scenario.hpp"

namespace aiway {

std::string scenario_to_toml(const Scenario& scenario);

}  // namespace aiway
