// One planned answer of the harness's upstream as a sequence of writes, each
// due at a time: the status line and headers, the tokens at their intended
// times, the planned misbehaviours, the end. It owns no socket and never
// waits: the server's event loop asks when the next write is due, and at that
// time for its bytes, and hands them to the socket (a token is formed only
// once the writes before it are wholly in the kernel, so a token's sent time
// is when it went to the socket, as with a blocking write).
// Writes due by the same instant may share one write (gathers()); a token's
// sent time is then when its bytes were formed, just before. It records each
// token's intended and sent times in its AnswerRecord.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "pipeline/arrival.hpp"
#include "upstream/body_format.hpp"
#include "upstream/llm_server.hpp"

namespace aiway {

// Appends one chunk of a chunked body, framed: size line, data, CRLF.
void append_chunk(std::string& out, std::string_view data);

class AnswerStream {
 public:
  // What the connection does once the bytes of the last write are out.
  enum class End {
    more,        // not the end: ask due_ns() again
    keep_alive,  // the answer is whole; the connection may carry the next request
    close,       // the body ends with the connection (HTTP/1.0, or a planned end without it)
    reset,       // the plan tears the connection mid-stream (a TCP reset)
  };

  // request_ns: when the request was read; chunked: the client speaks HTTP/1.1.
  AnswerStream(const AnswerPlan& plan, AnswerRecord& record, bool chunked, std::int64_t request_ns);

  // When the next write is due (monotonic ns).
  std::int64_t due_ns() const { return due_ns_; }
  // Whether writes due together may share one write to the socket (not when
  // the plan splits lines or characters across writes on purpose).
  bool gathers() const { return !split_; }
  // Appends the next write's bytes to `out` (possibly none: a token that
  // waits for the rest of its chunk) and says whether it was the last.
  End next(std::int64_t now_ns, std::string& out);
  // The bytes of every write so far are in the kernel: their tokens count
  // as sent; returns how many more than before. After the last write
  // (keep_alive or close) the answer is complete.
  std::uint64_t written(std::int64_t now_ns);
  // The connection failed or the server stopped: the answer ends unfinished.
  void abandon(std::int64_t now_ns);

 private:
  enum class Phase { headers, tokens, end, done };
  // A write that must reach the peer apart from the one before it (split
  // lines and characters), after a pause.
  struct Piece {
    std::string bytes;
    std::int64_t pause_ns = 0;
  };
  End headers(std::int64_t now_ns, std::string& out);
  End token(std::int64_t now_ns, std::string& out);
  End finish(std::int64_t now_ns, std::string& out);
  // The lines gathered so far go out as one chunk, or (split) each line as
  // two chunks, each its own write.
  void flush(std::string& out);
  void emit(std::string_view bytes, std::int64_t pause_ns, std::string& out);
  void emit_last_chunk(std::string& out);
  // The next token's due time: its schedule, or at once when the plan ends
  // the stream there.
  void schedule_next(std::int64_t now_ns);
  // Returns `end`, or hands out the next queued piece and defers `end` (and
  // the next due time) until the queue is out.
  End hand_out(End end, std::int64_t now_ns, std::string& out);

  const AnswerPlan& plan_;
  AnswerRecord& record_;
  BodyFormat format_;
  bool chunked_;
  bool paced_;
  bool split_;
  Phase phase_ = Phase::headers;
  std::int64_t due_ns_;
  ArrivalSchedule schedule_;
  std::uint64_t seq_ = 0;
  std::uint64_t in_chunk_ = 0;
  std::uint64_t flushed_ = 0;  // tokens in writes handed out
  std::uint64_t handed_ = 0;   // tokens whose every piece is handed out
  std::string text_, lines_;
  std::deque<Piece> queued_;
  bool deferring_ = false;
  End queued_end_ = End::more;  // what the last queued piece ends with
  std::int64_t resume_due_ns_ = 0;
  End last_ = End::more;
};

}  // namespace aiway
