// The conductor's session transcript: clean text of each message, bounded in
// bytes like ai-way's (10 MB): the oldest text goes first.
//
// Text is kept in fixed 64 KiB chunks. A growing std::string touched ~3.5x the
// kept bytes in fresh pages (every doubling is a new block and a copy): on
// 1m-short that was 5,600 page faults and 90 ms of the conductor's 135 ms of
// CPU a repetition. Chunks touch only the pages the text needs, and never copy
// what is kept.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace aiway {

class Transcript {
 public:
  static constexpr std::size_t kChunkBytes = 64 * 1024;

  explicit Transcript(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}
  // Moved, never copied (the conductor keeps one per stream in a vector).
  Transcript(Transcript&&) noexcept = default;
  Transcript& operator=(Transcript&&) noexcept = default;

  void append(std::string_view text) {
    // A token fits the current chunk but once per chunk: that copy inline
    // (through the general path, a 10-byte token cost the conductor 47
    // instructions besides the copy).
    if (text.size() < room_) {
      std::memcpy(cursor_, text.data(), text.size());
      cursor_ += text.size();
      room_ -= text.size();
      written_ += text.size();
      if (bytes() > max_bytes_) trim();
      return;
    }
    append_across_chunks(text);
  }
  void end_message();
  std::uint64_t bytes() const { return written_ - start_; }
  // The kept text, oldest first (for tests; copies it all).
  std::string text() const;

 private:
  void append_across_chunks(std::string_view text);
  void trim();

  std::uint64_t max_bytes_;
  // Offsets count every byte ever appended: the kept text is [start_, written_).
  std::uint64_t written_ = 0;
  std::uint64_t start_ = 0;
  std::uint64_t chunks_base_ = 0;           // offset of chunks_.front()'s first byte
  std::deque<std::unique_ptr<char[]>> chunks_;
  std::deque<std::uint64_t> message_ends_;
  std::unique_ptr<char[]> spare_;  // the last chunk trimmed off, for the next one
  // Where the next byte goes in chunks_.back(), and how many fit there: a
  // token's append is one copy. trim() never drops a chunk with room left.
  char* cursor_ = nullptr;
  std::size_t room_ = 0;  // where each finished, still kept message ends
};

}  // namespace aiway
