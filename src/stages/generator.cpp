#include "stages/generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace aiway {
namespace {
constexpr std::string_view kSentence = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
static_assert(kSentence.size() == 57);

// fmt::format_to through a back_inserter cost ~430 instructions a token
// (callgrind, 1m-short): a quarter of the whole pipeline. to_chars costs ~20.
void append_number(std::string& out, std::uint64_t i) {
  char digits[24];
  const auto [end, error] = std::to_chars(digits, digits + sizeof digits, i);
  out.append(digits, end);
}

}  // namespace

void generate_message(std::uint32_t size, std::uint64_t i, std::string& out) {
  out.clear();
  if (size <= 100) {
    out.append("msg");
    append_number(out, i);
    if (size > 10 && out.size() < size) out.append(size - out.size(), 'x');
    return;
  }
  out.append("=== Message ");
  append_number(out, i);
  out.append(" ===\n");
  const std::int64_t header = std::int64_t(out.size());
  const std::int64_t repeats = std::max<std::int64_t>(1, (std::int64_t(size) - (header + 10)) / 57);
  out.reserve(std::size_t(header + repeats * 57));
  for (std::int64_t r = 0; r < repeats; ++r) out.append(kSentence);
  if (out.size() > size) out.resize(size);
}

std::string_view planted_command(std::uint64_t j) {
  static constexpr std::array<std::string_view, 4> kCommands = {
      "[yolla:mood happy]", "[yolla:move 50 75]", "[yolla:wave]", "[yolla:task start coder write tests]"};
  return kCommands[j % kCommands.size()];
}

std::uint64_t planted_command_position(std::uint64_t j, std::uint64_t commands, std::uint64_t messages) {
  return (j + 1) * messages / (commands + 1);
}

}  // namespace aiway
