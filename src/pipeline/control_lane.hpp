// The control lane: flags that overtake queued data. Each stage checks its own
// "attention" flag between tokens; whoever sets a flag also wakes the stage's
// channel so a sleeping stage sees it at once.
#pragma once

#include <atomic>
#include <cstdint>

namespace aiway {

struct ControlLane {
  std::atomic<bool> aborted{false};              // runner: stop everything now (timeout, interrupt)
  std::atomic<bool> backend_stop{false};         // conductor after quit, or abort
  std::atomic<bool> conductor_attention{false};  // quit requested, or abort
  std::atomic<bool> surface_attention{false};    // ShuttingDown sent, or abort
  std::atomic<std::int64_t> quit_requested_ns{0};
};

}  // namespace aiway
