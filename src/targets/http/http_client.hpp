// The harness's streaming HTTP clients (target.kind = "http"): each stream is
// one request on its own connection, started when the scenario's arrival
// model says, read chunk by chunk with a receive time per read, and split
// into events as the formats say (server-sent events at blank lines, NDJSON
// at newlines). Every token names its upstream answer and sequence number,
// so each stream keeps exact books: delivered, duplicated, reordered,
// corrupted, and how it ended (done, truncated, an HTTP error, refused, timed
// out, malformed).
//
// One client is one thread running an epoll loop over its streams; a run
// splits its streams over target.client_threads clients. HTTP is parsed by
// Boost.Beast; only the event splitting is this code's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/stream_api.hpp"
#include "net/url.hpp"

namespace aiway {

enum class StreamEnd {
  not_started,  // the run ended before its start time
  open,         // still open when the run ended (stopped, or the run's timeout)
  done,         // the body ended with its done marker ([DONE], "done": true)
  truncated,    // the body or the connection ended without the done marker
  http_error,   // a status other than 2xx
  refused,      // the connection was refused or could not be made
  timed_out,    // nothing arrived for target.stream_timeout_ms (or no connection within connect_timeout_ms)
  malformed,    // an event or line that is not what the API sends, or a broken HTTP response
  upstream_error,  // an error event or line in the stream
};
std::string_view to_string(StreamEnd end);

// What one SSE event's data or one NDJSON line carried.
struct StreamEvent {
  enum Kind { token, done, ignored, error, malformed } kind = ignored;
  std::string text;  // the token's text, or what was wrong
};
// Reads a unit as the clients do: the upstream's own token shape on a fast
// path (fast = false: always the JSON parser; the two agree, a test checks).
StreamEvent read_stream_unit(net::StreamApi api, std::string_view unit, bool fast = true);

struct HttpStreamBooks {
  std::uint32_t index = 0;  // the stream's number in the scenario (0-based)
  StreamEnd end = StreamEnd::not_started;
  std::string detail;       // why it ended, for the report (empty when done)
  unsigned status = 0;
  std::int64_t due_ns = 0;          // when the schedule started it
  std::int64_t request_ns = 0;      // the request was written
  std::int64_t headers_ns = 0;      // the response's header was read
  std::int64_t first_token_ns = 0, last_token_ns = 0, end_ns = 0;
  // The upstream answer this stream's tokens came from (seq / tokens per
  // answer); -1 until its first token.
  std::int64_t answer = -1;
  std::vector<std::int64_t> received_ns;  // per token of that answer: when it first arrived; 0: never
  std::vector<std::int64_t> gaps_ns;      // between consecutive token arrivals, in arrival order
  std::uint64_t delivered = 0, duplicated = 0, reordered = 0, corrupted = 0;
  std::uint64_t chunks = 0;      // HTTP chunks of the body as received
  std::uint64_t body_bytes = 0;  // body bytes as received (before de-chunking: the chunks' data)
  bool stalled = false;          // the planned reader stall happened
};

struct HttpClientPlan {
  net::HttpUrl url;
  net::StreamApi api = net::StreamApi::openai_chat;
  std::uint64_t tokens = 0;       // per answer
  std::uint32_t size = 10;
  bool multibyte = false;
  std::vector<std::uint32_t> streams;  // this client's stream numbers
  std::vector<std::int64_t> due_ns;    // when each starts, ascending (CLOCK_MONOTONIC)
  std::uint32_t max_concurrent = 0;    // 0: no cap
  double connect_timeout_ms = 5000;
  double stream_timeout_ms = 30000;
  std::vector<bool> stalls;            // per stream: it stops reading after stall_at tokens...
  std::uint64_t stall_at = 0;
  double stall_ms = 0;                 // ...for this long
};

class HttpStreamClient {
 public:
  explicit HttpStreamClient(HttpClientPlan plan);
  ~HttpStreamClient();
  HttpStreamClient(const HttpStreamClient&) = delete;
  HttpStreamClient& operator=(const HttpStreamClient&) = delete;

  void start();
  void stop_and_join();  // streams still open end as `open`
  // For the run's watchdog while it runs.
  bool finished() const { return finished_.load(); }
  std::uint64_t tokens_seen() const { return tokens_seen_.load(std::memory_order_relaxed); }
  std::int64_t last_receive_ns() const { return last_receive_ns_.load(std::memory_order_relaxed); }
  // After stop_and_join.
  const std::vector<HttpStreamBooks>& books() const { return books_; }

 private:
  struct Connection;
  class Loop;
  void loop();

  HttpClientPlan plan_;
  std::vector<HttpStreamBooks> books_;
  std::atomic<bool> stop_{false}, finished_{false};
  std::atomic<std::uint64_t> tokens_seen_{0};
  std::atomic<std::int64_t> last_receive_ns_{0};
  std::thread thread_;
};

}  // namespace aiway
