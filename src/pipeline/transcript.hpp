// The conductor's session transcript: clean text of each message, bounded in
// bytes like ai-way's (10 MB): the oldest text goes first.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace aiway {

class Transcript {
 public:
  explicit Transcript(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

  void append(std::string_view text);
  void end_message();
  std::uint64_t bytes() const { return bytes_; }

 private:
  void trim();

  std::uint64_t max_bytes_;
  std::uint64_t bytes_ = 0;
  std::string current_;
  std::deque<std::string> finished_;
};

}  // namespace aiway
