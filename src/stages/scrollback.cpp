#include "stages/scrollback.hpp"

#include <algorithm>
#include <cstring>

namespace aiway {

Scrollback::Scrollback(std::uint32_t width, std::uint32_t lines)
    : width_(width),
      lines_(lines),
      cells_(new char[std::size_t(width) * lines]),
      lengths_(new std::uint32_t[lines]) {
  lengths_[0] = 0;
}

void Scrollback::new_line() {
  lengths_[current_] = column_;
  current_ = (current_ + 1) % lines_;
  column_ = 0;
  lengths_[current_] = 0;
  ++lines_written_;
}

void Scrollback::append_wrapped(std::string_view text) {
  // One newline search per line of input (searching per wrapped row would
  // rescan the rest of a long token every `width` bytes: quadratic).
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    while (!line.empty()) {
      if (column_ == width_) new_line();
      const std::size_t run = std::min<std::size_t>(width_ - column_, line.size());
      std::memcpy(&cells_[std::size_t(current_) * width_ + column_], line.data(), run);
      column_ += std::uint32_t(run);
      lengths_[current_] = column_;
      line.remove_prefix(run);
    }
    if (newline == std::string_view::npos) break;
    new_line();
    text.remove_prefix(newline + 1);
  }
}

void Scrollback::begin_message() { message_start_ = {current_, column_, lines_written_}; }

void Scrollback::rewrap_message(std::string_view message) {
  current_ = message_start_.line;
  column_ = message_start_.column;
  lines_written_ = message_start_.lines_written;
  lengths_[current_] = column_;
  append(message);
}

std::uint64_t Scrollback::render(char* frame, std::uint32_t rows) const {
  std::uint64_t checksum = 0;
  const std::uint64_t available = std::min<std::uint64_t>(lines_written_ + 1, lines_);
  const std::uint32_t shown = std::uint32_t(std::min<std::uint64_t>(rows, available));
  for (std::uint32_t r = 0; r < rows; ++r) {
    char* out = frame + std::size_t(r) * width_;
    if (r >= shown) {
      std::memset(out, ' ', width_);
      continue;
    }
    const std::uint32_t line = (current_ + lines_ - (shown - 1 - r)) % lines_;
    const std::uint32_t length = lengths_[line];
    std::memcpy(out, &cells_[std::size_t(line) * width_], length);
    std::memset(out + length, ' ', width_ - length);
    for (std::uint32_t c = 0; c < length; c += 8) checksum = checksum * 31 + std::uint8_t(out[c]);
  }
  return checksum;
}

std::uint64_t Scrollback::retained_bytes() const {
  return std::min<std::uint64_t>(lines_written_ + 1, lines_) * width_;
}

}  // namespace aiway
