// What a scenario will hold in memory at most, estimated from its fields
// before it runs, so that a valid but enormous scenario (4,096 streams with
// 10 MiB transcripts each, channels of 16 MiB tokens) is refused with the
// estimate instead of ending hours later in std::bad_alloc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aiway/scenario.hpp"

namespace aiway {

struct MemoryPart {
  std::string what;  // "transcripts: 4096 streams x 10 MiB"
  double bytes = 0;
};
struct MemoryEstimate {
  std::vector<MemoryPart> parts;
  double total() const;
};
MemoryEstimate estimate_memory(const Scenario& scenario);

// Throws InputError, naming the scenario's file, the estimate and its largest
// parts, when the estimate is over the scenario's measure.max_memory_mib or
// (unset) half of available_bytes.
void check_memory_budget(const Scenario& scenario, std::int64_t available_bytes);

}  // namespace aiway
