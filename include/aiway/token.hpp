// One item on a pipeline channel.
#pragma once

#include <cstdint>
#include <string>

namespace aiway {

enum class TokenKind : std::uint8_t {
  data,      // a piece of the answer
  complete,  // the stream ended normally (Complete / StreamEnd)
  error,     // the stream ended with an error (Error / StreamError)
  command,   // an avatar command the conductor extracted (conductor -> surface only)
  cancelled, // the response was cancelled by a new request; the stream goes on with the next response
  shutting_down,  // ShuttingDown sent in band (control.shutdown_path = "in-band"): behind the data
};

struct Token {
  TokenKind kind = TokenKind::data;
  std::uint32_t stream = 0;
  std::uint32_t clean_size = 0;    // bytes of the text without planted commands
  std::uint64_t seq = 0;           // per stream, contiguous from 0
  std::uint64_t hash = 0;          // XXH3 of the clean text the backend generated
  std::int64_t intended_ns = 0;    // t0: the schedule's send time (actual send when unpaced)
  std::int64_t sent_ns = 0;        // handed to the token channel
  std::int64_t arrives_ns = 0;     // when the hop1 network delivers it (0: no network modelled)
  std::int64_t dequeued_ns = 0;    // t1: taken off the token channel by the conductor
  std::string text;
};

}  // namespace aiway
