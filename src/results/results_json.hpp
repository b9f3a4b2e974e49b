// The results JSON (schema aiway-stress/results/v1; docs in the README).
#pragma once

#include <nlohmann/json.hpp>

#include "aiway/input_error.hpp"
#include <string>

#include "aiway/results.hpp"

namespace aiway {

// The results file. `compact`: the form baselines take, that a repository
// can keep for years -- metrics to ten significant digits; one repetition per
// scenario (the one with the median p99, which the report draws) keeps its
// latency distribution, as HdrHistogram's compressed histogram rather than
// spectrum rows (the loader derives them again: every point equal but the
// maximum, within 0.1 %); RSS timelines at most 33 points, the peak kept; no
// summary (a reader recomputes it); no indentation.
nlohmann::ordered_json results_to_json(const RunResults& results, bool compact = false);
std::string results_json_text(const RunResults& results, bool compact = false);

// The repetition that stands for a scenario's latency distribution: the one
// with the median p99 among those that kept theirs (null: none did).
const Repetition* representative_repetition(const ScenarioResult& result);
nlohmann::ordered_json scenario_config_json(const Scenario& scenario);
nlohmann::ordered_json calibration_json(const Calibration& calibration);

// Reads a results (or baseline) file back: tool, machine, method, scenario
// names, every repetition's metrics, spectrum and RSS timeline, failures. Throws ResultsError, which names
// the file and the field, on anything else.
class ResultsError : public InputError {
 public:
  using InputError::InputError;
};
// Results files are bounded: a run --all with 1,000 repetitions a scenario is
// well under 100 MiB; anything over this is not a results file.
constexpr std::size_t kMaxResultsBytes = std::size_t(512) << 20;
RunResults load_results_file(const std::string& path);
RunResults results_from_json_text(const std::string& text, const std::string& source);

}  // namespace aiway
