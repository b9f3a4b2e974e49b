// The mock LLM's message text, byte for byte the generator of the stress tests
// this project descends from (docs/scenarios.md describes it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aiway {

// Writes message i of size class `size` into `out` (replacing its content).
void generate_message(std::uint32_t size, std::uint64_t i, std::string& out);

// The avatar commands a backend plants, in rotation.
std::string_view planted_command(std::uint64_t j);

// Token index (0-based, within a stream of `messages` tokens) that carries
// planted command j of `commands`; spread evenly over the stream.
std::uint64_t planted_command_position(std::uint64_t j, std::uint64_t commands, std::uint64_t messages);

}  // namespace aiway
