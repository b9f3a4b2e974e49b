// A stream's display: text wrapped incrementally into a ring of fixed-width
// lines (appending a token touches only the current line, never re-wraps the
// message), and the viewport rendered from its last rows.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace aiway {

class Scrollback {
 public:
  Scrollback(std::uint32_t width, std::uint32_t lines);

  void append(std::string_view text) {
    // Most tokens are a few bytes that fit the current line: one newline
    // search and one copy, inline (through the general loop a 10-byte token
    // cost the surface about 60 instructions besides them).
    if (!text.empty() && text.size() <= width_ - column_ && std::memchr(text.data(), '\n', text.size()) == nullptr) {
      std::memcpy(&cells_[std::size_t(current_) * width_ + column_], text.data(), text.size());
      column_ += std::uint32_t(text.size());
      lengths_[current_] = column_;
      return;
    }
    append_wrapped(text);
  }
  // A new message starts here (after the last one's text).
  void begin_message();
  // Wraps the whole current message again from its first line, as a UI that
  // re-lays out a message on every token does: cost grows with the message.
  void rewrap_message(std::string_view message);
  // Copies the last `rows` lines into `frame` (rows x width bytes, space padded);
  // returns a checksum of what was drawn.
  std::uint64_t render(char* frame, std::uint32_t rows) const;

  std::uint64_t lines_written() const { return lines_written_; }
  std::uint32_t width() const { return width_; }
  std::uint64_t retained_bytes() const;  // cells touched so far

 private:
  void append_wrapped(std::string_view text);
  void new_line();

  std::uint32_t width_;
  std::uint32_t lines_;
  // Not value-initialised: pages are touched (and count in RSS) only when written.
  std::unique_ptr<char[]> cells_;
  std::unique_ptr<std::uint32_t[]> lengths_;
  std::uint32_t current_ = 0;  // ring index of the line being written
  std::uint32_t column_ = 0;
  std::uint64_t lines_written_ = 0;
  struct Position {
    std::uint32_t line = 0, column = 0;
    std::uint64_t lines_written = 0;
  } message_start_;
};

}  // namespace aiway
