// The mock LLM's message text, byte for byte the generator of the stress tests
// this project descends from (docs/scenarios.md describes it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aiway {

// Writes message i of size class `size` into `out` (replacing its content).
void generate_message(std::uint32_t size, std::uint64_t i, std::string& out);

// Message after message of one size class, as the mock backend asks for them
// (i rising one at a time, or repeated once per stream): a short message keeps
// its digits from the last one and counts them up in place instead of
// formatting every number afresh. Any i gives generate_message's text; one
// that is neither the last nor the last plus one is formatted anew.
class MessageGenerator {
 public:
  explicit MessageGenerator(std::uint32_t size) : size_(size) {}
  void write(std::uint64_t i, std::string& out);

 private:
  void format(std::uint64_t i);

  std::uint32_t size_;
  bool formatted_ = false;  // text_ holds message last_
  std::uint64_t last_ = 0;
  std::uint32_t length_ = 0, digits_end_ = 0;
  char text_[128];
};

// The avatar commands a backend plants, in rotation.
std::string_view planted_command(std::uint64_t j);

// Token index (0-based, within a stream of `messages` tokens) that carries
// planted command j of `commands`; spread evenly over the stream.
std::uint64_t planted_command_position(std::uint64_t j, std::uint64_t commands, std::uint64_t messages);

}  // namespace aiway
