// What machine and build produced a result.
#pragma once

#include "aiway/results.hpp"
#include "measure/clock.hpp"

namespace aiway {

MachineInfo describe_machine(const Clock& clock);
ToolInfo describe_tool();
// "mimalloc" only when malloc really is mimalloc's, checked at run time.
std::string active_allocator();
// Called once at start-up. mimalloc returns freed pages to the OS after 25 ms
// by default; the pipeline frees on another thread than it allocates, so every
// repetition faulted its memory back in (1k-long ran at 191 MB/s instead of
// 2.7 GB/s). A long decommit delay keeps freed pages, as a long-lived UI's
// heap would. MIMALLOC_DECOMMIT_DELAY / MIMALLOC_RESET_DELAY in the
// environment win. Returns the options in force, for the results.
std::string configure_allocator();

}  // namespace aiway
