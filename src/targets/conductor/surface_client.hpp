// One harness surface on a conductor's socket: it greets, may ask, and reads
// every frame with a receive timestamp (CLOCK_MONOTONIC, the upstream's clock
// too), keeping the books per token: first arrival by sequence number,
// duplicates, reorders, corruption, the end markers and the quit.
//
// Threads: the reader thread owns the books until join(); the owner may send
// events meanwhile (sends are serialised).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/socket.hpp"
#include "wire/messages.hpp"

namespace aiway {

struct SurfacePlan {
  std::uint64_t tokens = 0;        // what the upstream will send: sizes the books
  std::uint32_t size = 10;         // token text bytes, to check each token's content
  bool multibyte = false;          // the tokens carry a two-byte character
  std::uint64_t stall_at = 0;      // after this many tokens the surface stops reading…
  double stall_ms = 0;             // …for this long
  std::uint64_t quit_at = 0;       // after this many tokens it requests a quit (0: never)
  double write_timeout_ms = 5000;
};

// The books, read after join().
struct SurfaceBooks {
  std::vector<std::int64_t> received_ns;  // per sequence number: first arrival, 0 = never
  std::uint64_t delivered = 0, duplicated = 0, reordered = 0, corrupted = 0;
  std::uint64_t protocol_errors = 0, foreign_acks = 0, notifies = 0;
  std::uint64_t events_sent = 0, events_acked = 0;
  std::uint64_t stream_errors = 0, streams_abandoned = 0;
  std::int64_t first_token_ns = 0, last_token_ns = 0;
  std::int64_t stream_end_ns = 0, stream_error_ns = 0, ready_ns = 0;
  std::int64_t quit_sent_ns = 0, shutting_down_ns = 0;
};

class SurfaceClient {
 public:
  // Connects (throws std::runtime_error when nothing listens on `socket`).
  SurfaceClient(const std::string& socket, std::uint32_t index, SurfacePlan plan);
  ~SurfaceClient();
  SurfaceClient(const SurfaceClient&) = delete;
  SurfaceClient& operator=(const SurfaceClient&) = delete;

  int fd() const { return fd_.get(); }
  void start();  // the reader thread
  // Sends one event (JSON) as a frame; false when the conductor did not take it in time.
  bool send(const std::string& json);
  // A fresh event id of this surface ("evt_<surface>_<n>"), remembered so acks can be matched.
  std::string next_event_id();
  // A quit requested now (also used by the reader at plan.quit_at).
  void request_quit();
  // Sends raw bytes as they are (a malformed frame on purpose).
  bool send_raw(const std::string& bytes);

  // While running, for the orchestrator (relaxed: progress, not books).
  bool greeted() const { return greeted_.load(); }
  bool finished() const { return finished_.load(); }   // StreamEnd/StreamError and then Ready seen
  bool gone() const { return gone_.load(); }
  bool quit_requested() const { return quit_sent_ns_.load() > 0; }
  std::uint64_t tokens_seen() const { return tokens_seen_.load(std::memory_order_relaxed); }
  std::int64_t last_receive_ns() const { return last_receive_ns_.load(std::memory_order_relaxed); }

  void stop_and_join();
  const SurfaceBooks& books() const { return books_; }

 private:
  void read_loop();
  void on_frame(std::string_view json, std::int64_t t);

  net::Fd fd_;
  SurfacePlan plan_;
  SurfaceBooks books_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::mutex send_mutex_;  // guards the socket's write side and the event ids
  std::vector<std::string> own_events_;
  std::vector<bool> acked_;  // per own event
  std::uint64_t next_event_ = 1;
  std::atomic<bool> greeted_{false}, finished_{false}, gone_{false};
  std::atomic<std::uint64_t> tokens_seen_{0};
  std::atomic<std::int64_t> last_receive_ns_{0};
  std::atomic<std::int64_t> quit_sent_ns_{0};
  std::uint64_t max_seq_ = 0;
  bool any_seq_ = false;
  bool in_stream_ = false;
  std::string reply_id_, expected_;
  wire::ConductorMessage message_;  // reused: decoding a Token allocates nothing
  std::uint32_t index_;
  bool stalled_ = false;
  bool asked_ = false;      // a stream is expected: Thinking or Responding was seen
  bool quit_planned_sent_ = false;
};

}  // namespace aiway
