// What machine and build produced a result.
#pragma once

#include "aiway/results.hpp"
#include "measure/clock.hpp"

namespace aiway {

MachineInfo describe_machine(const Clock& clock);
ToolInfo describe_tool();
// "mimalloc" only when malloc really is mimalloc's, checked at run time.
std::string active_allocator();

}  // namespace aiway
