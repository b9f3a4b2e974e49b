#include "stages/generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace aiway {
namespace {
constexpr std::string_view kSentence = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
static_assert(kSentence.size() == 57);

// Writes the decimal digits of i at `out` (room for 20); returns one past the last.
char* write_number(char* out, std::uint64_t i) { return std::to_chars(out, out + 20, i).ptr; }

constexpr std::uint32_t kShortMax = 100;  // msg{i}, padded with 'x' to the size above 10

// Short message i at text (room for 128); returns its length. *digits_end
// (when asked for): one past its last digit.
std::uint32_t write_short(std::uint32_t size, std::uint64_t i, char* text, std::uint32_t* digits_end = nullptr) {
  std::memcpy(text, "msg", 3);
  char* end = write_number(text + 3, i);
  if (digits_end) *digits_end = std::uint32_t(end - text);
  if (size > 10 && std::uint32_t(end - text) < size) {
    std::memset(end, 'x', size - std::size_t(end - text));
    end = text + size;
  }
  return std::uint32_t(end - text);
}

}  // namespace

void generate_message(std::uint32_t size, std::uint64_t i, std::string& out) {
  if (size <= kShortMax) {
    // Built on the stack and copied once into the token's buffer. Appending
    // piece by piece took 10.6 ns for msg{i} and 27.5 ns padded to 100 bytes;
    // this took 7.9 and 16.1 ns (BM_Generate/10 and /100, one machine, one run).
    // The mock backend counts up instead (MessageGenerator, BM_GenerateCounting).
    char text[128];  // not value-initialised: only what is written is copied
    out.assign(text, write_short(size, i, text));  // into the buffer out has, when it fits
    return;
  }
  char header[48] = "=== Message ";
  char* end = write_number(header + 12, i);
  std::memcpy(end, " ===\n", 5);
  const auto header_size = std::int64_t(end + 5 - header);
  const std::int64_t repeats = std::max<std::int64_t>(1, (std::int64_t(size) - (header_size + 10)) / 57);
  // Sized once: the header alone outgrew the inline buffer, and then the
  // reserve allocated again (two allocations a token on 1k-long).
  out.clear();
  out.reserve(std::size_t(header_size + repeats * 57));
  out.append(header, std::size_t(header_size));
  // The sentences in runs of up to kRun at a time: one copy each, not one per
  // sentence. On 1k-long, fresh process per repetition, four interleaved pairs
  // of 9: 2.04 GB/s against 1.86 (the conductor's CPU fell by a third), though
  // BM_Generate/10000, rewriting one warm buffer, is slower (435 against 258 ns).
  constexpr std::int64_t kRun = 64;
  static const std::string run = [] {
    std::string text;
    for (std::int64_t r = 0; r < kRun; ++r) text.append(kSentence);
    return text;
  }();
  for (std::int64_t r = 0; r < repeats; r += kRun)
    out.append(run.data(), std::size_t(std::min(kRun, repeats - r)) * kSentence.size());
  if (out.size() > size) out.resize(size);
}

void MessageGenerator::format(std::uint64_t i) {
  length_ = write_short(size_, i, text_, &digits_end_);
  last_ = i;
  formatted_ = true;
}

void MessageGenerator::write(std::uint64_t i, std::string& out) {
  if (size_ > kShortMax) return generate_message(size_, i, out);
  // i == last_ (the next stream's copy) is text_ as it is; i == 0 after the
  // largest number is a wrap-around, not a count up.
  if (!formatted_ || (i != last_ && i != last_ + 1) || i == 0) {
    format(i);
  } else if (i == last_ + 1) {
    // Count the last number up in its digits; a carry out of the first digit
    // (9 -> 10) needs one digit more, and is formatted anew.
    char* d = text_ + digits_end_ - 1;
    while (d >= text_ + 3 && *d == '9') *d-- = '0';
    if (d < text_ + 3) {
      format(i);
    } else {
      ++*d;
      last_ = i;
    }
  }
  out.assign(text_, length_);
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
