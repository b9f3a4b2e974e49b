// ai-way's socket framing, both directions: a 4-byte big-endian payload
// length, a 4-byte big-endian CRC-32 (zlib's, ISO-HDLC) of the payload, then
// that many bytes of compact UTF-8 JSON. Frames follow each other back to back
// and the stream may split or merge them anywhere.
//
// Guarantees: append_frame writes exactly one frame; FrameDecoder yields
// every complete frame in order whatever the read sizes, reports a bad CRC
// (and skips that frame: its length is still known) and an over-long length
// (after which it can never resynchronise: it stays broken).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aiway::wire {

inline constexpr std::uint32_t kMaxFrameBytes = 10u << 20;  // 10 MiB, both ways
inline constexpr std::size_t kHeaderBytes = 8;

std::uint32_t crc32(std::string_view bytes);

// Appends one frame around `json` to `out`.
void append_frame(std::string& out, std::string_view json);
std::string frame(std::string_view json);

class FrameDecoder {
 public:
  enum class Status {
    need_more,  // no complete frame buffered
    frame,      // payload() is the next frame's JSON
    bad_crc,    // the next frame's CRC did not match; it is skipped
    too_long,   // a length over kMaxFrameBytes: the stream cannot be followed any further
  };

  // Buffers bytes read from the stream.
  void feed(const char* data, std::size_t size);
  // The next complete frame, or what stops it. The payload stays valid until
  // the next call to feed() or next().
  Status next();
  std::string_view payload() const { return payload_; }
  std::uint32_t declared_length() const { return declared_; }
  bool broken() const { return broken_; }
  std::size_t buffered() const { return buffer_.size() - read_; }

 private:
  std::string buffer_;
  std::size_t read_ = 0;  // consumed prefix of buffer_
  std::string_view payload_;
  std::uint32_t declared_ = 0;
  bool broken_ = false;
};

}  // namespace aiway::wire
