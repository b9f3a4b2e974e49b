// The results JSON of shared/results-schema.md.
#pragma once

#include <nlohmann/json.hpp>

#include "aiway/results.hpp"

namespace aiway {

nlohmann::ordered_json results_to_json(const RunResults& results);
nlohmann::ordered_json scenario_config_json(const Scenario& scenario);

}  // namespace aiway
