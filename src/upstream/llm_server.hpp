// The LLM server a conductor or an HTTP client streams from, played by the
// harness over HTTP/1.1 (chunked, keep-alive): Ollama's POST /api/generate and
// POST /api/chat answered with NDJSON lines, OpenAI's POST
// /v1/chat/completions with server-sent events, and GET /api/tags. Every answer is planned (how many
// tokens, how big, when each is due, and what goes wrong on purpose), and the
// server records, per token, when it was due and when it went on the wire, so
// the far end can measure latency from the intended send time.
//
// Threads: one accepts, one per connection answers (at most
// plan.max_connections at once). Only this machine's user (or root) is
// served: a request from another local user is refused and counted. answers() is read after
// stop(); the atomics are for a watchdog while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aiway/scenario.hpp"
#include "net/socket.hpp"
#include "net/stream_api.hpp"
#include "net/url.hpp"

namespace aiway {

// One answer to POST /api/generate, including the upstream misbehaviours a
// conductor must survive.
struct AnswerPlan {
  std::uint64_t tokens = 1000;
  std::uint32_t size = 10;               // bytes of token text (at least its tag)
  double rate_tps = 0;                   // 0: as fast as the connection takes them
  Arrival arrival = Arrival::constant;
  double burstiness = 1;
  std::uint64_t seed = 1;
  double headers_delay_ms = 0;           // before the status line
  double first_token_delay_ms = 0;       // after the headers, before the first line
  std::uint32_t tokens_per_chunk = 1;    // NDJSON lines per HTTP chunk
  bool split_lines = false;              // every line goes out as two chunks
  bool split_utf8 = false;               // tokens carry a two-byte character, split between two chunks
  int status = 200;                      // another status: an error answer with an {"error":…} body
  std::uint64_t error_line_at = 0;       // after this many tokens an {"error":…} line, then the end (no done)
  std::uint64_t reset_at = 0;            // after this many tokens the connection is reset
  bool eof_without_done = false;         // the body ends without the done line
  double write_timeout_ms = 5000;        // a conductor that stops reading costs this, then the answer is abandoned
  // Connections served at once (each is a thread here: a flood of idle
  // connections must not exhaust the machine); at the cap the oldest idle
  // one is closed to make room, and counted.
  std::uint32_t max_connections = 256;
};

AnswerPlan answer_plan(const Scenario& s, std::uint32_t requests_per_stream);

struct AnswerRecord {
  std::string prompt;
  net::StreamApi api = net::StreamApi::ollama_generate;
  // Answers are numbered in the order they were asked for; answer k's tokens
  // carry the sequence numbers k x plan.tokens onwards, so the tokens of two
  // answers are never taken for one another.
  std::uint64_t first_seq = 0;
  std::int64_t request_ns = 0;   // the request was read
  std::int64_t headers_ns = 0;   // the status line went out
  std::int64_t end_ns = 0;       // the last byte went out (or the answer was abandoned)
  std::uint64_t tokens_sent = 0;
  std::uint64_t chunks_sent = 0;  // HTTP chunks of the body written (a proxy may pass them on coalesced)
  std::vector<std::int64_t> intended_ns;  // per token: when it was due (the schedule)
  std::vector<std::int64_t> sent_ns;      // per token: when its chunk was handed to the socket
  bool write_timed_out = false;
  bool peer_closed = false;
  bool completed = false;        // the plan ran to its end
};

class LlmServer {
 public:
  // Listens on address (port 0: any free port); throws std::runtime_error
  // when it cannot (the port is taken, the host is no local IPv4 address).
  explicit LlmServer(AnswerPlan plan, const net::HostPort& address = {"127.0.0.1", 0});
  ~LlmServer();
  LlmServer(const LlmServer&) = delete;
  LlmServer& operator=(const LlmServer&) = delete;

  std::uint16_t port() const { return port_; }
  void start();
  void stop();  // stops accepting, aborts answers, joins

  std::vector<AnswerRecord> answers() const;
  // For a watchdog while running.
  std::uint64_t tokens_sent() const { return tokens_sent_.load(std::memory_order_relaxed); }
  // Streaming requests (generate, chat, chat completions).
  std::uint32_t generate_requests() const { return generate_requests_.load(); }
  std::uint32_t tags_requests() const { return tags_requests_.load(); }
  // Requests refused because they came from another user of this machine:
  // they are answered 403 and never served from the run's books.
  std::uint32_t foreign_requests() const { return foreign_requests_.load(); }
  // Connections closed because max_connections were open: the oldest idle
  // one to make room, or the new one when every open one was being answered.
  std::uint32_t refused_connections() const { return refused_connections_.load(); }
  bool answering() const { return answering_.load() > 0; }
  std::int64_t last_activity_ns() const { return last_activity_ns_.load(std::memory_order_relaxed); }

 private:
  // A connection as the accept loop sees it, to close an idle one at the cap.
  struct Peer {
    int fd = -1;
    std::atomic<bool> idle{false}, closing{false}, done{false};
  };
  void accept_loop();
  bool close_one_idle_connection();
  void serve(net::Fd connection, Peer& peer);
  // Streams one planned answer; false when the connection cannot be reused.
  bool answer(int fd, AnswerRecord& record, bool chunked);
  // A whole response with a small body (tags, errors); false when it could not be written.
  bool respond(int fd, unsigned status, std::string_view body);

  AnswerPlan plan_;
  net::Fd listener_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;  // guards connections_ and answers_
  std::vector<std::thread> connections_;
  std::vector<std::shared_ptr<Peer>> peers_;  // the open connections, oldest first
  std::vector<std::unique_ptr<AnswerRecord>> answers_;  // in the order they were asked for
  std::atomic<std::uint64_t> tokens_sent_{0};
  std::atomic<std::uint32_t> generate_requests_{0}, tags_requests_{0}, foreign_requests_{0}, refused_connections_{0};
  std::atomic<std::uint32_t> open_connections_{0};
  std::atomic<int> answering_{0};
  std::atomic<std::int64_t> last_activity_ns_{0};
};

}  // namespace aiway
