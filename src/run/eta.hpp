// The time a run has left, at the pace so far. A repetition the harness
// takes again (disturbed) costs another: at the share of repetitions taken
// again so far, each one still planned costs 1 / (1 - share) attempts, so the
// estimate includes the re-runs to come instead of growing with each one.
#pragma once

#include <algorithm>
#include <cstdint>

namespace aiway {

// elapsed_s over `attempts` repetitions taken (of which `retaken` were
// discarded and taken again); `left` planned repetitions still to run.
inline double eta_seconds(double elapsed_s, std::uint64_t attempts, std::uint64_t retaken, std::uint64_t left) {
  if (attempts == 0) return 0;
  const double per_attempt = elapsed_s / double(attempts);
  // Capped: a run where nearly every repetition is disturbed still ends (measure.rerun_disturbed bounds it).
  const double retaken_share = std::min(0.75, double(retaken) / double(attempts));
  return per_attempt * double(left) / (1 - retaken_share);
}

}  // namespace aiway
