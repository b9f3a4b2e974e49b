// What a process target needs from this machine, checked before any
// repetition runs: an input error (exit 2) that names the field, never a
// failure after minutes of work nor a file or port taken from someone else.
#pragma once

#include "aiway/scenario.hpp"

namespace aiway {

// Throws InputError when the scenario cannot run here as given:
// - aiway: a started conductor's target.socket is in a missing folder, is a
//   folder or a file that is not a socket, or a live process listens on it;
// - http: a started proxy's fixed port in target.url is already taken (the
//   harness would measure whatever listens there); a common start time
//   (target.start_at) further ahead than the repetition's timeout_s.
void check_target_before_run(const Scenario& s, double unix_now);

}  // namespace aiway
