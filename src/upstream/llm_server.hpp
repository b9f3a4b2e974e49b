// The LLM server a conductor or an HTTP client streams from, played by the
// harness over HTTP/1.1 (chunked, keep-alive): Ollama's POST /api/generate and
// POST /api/chat answered with NDJSON lines, OpenAI's POST
// /v1/chat/completions with server-sent events, and GET /api/tags. Every answer is planned (how many
// tokens, how big, when each is due, and what goes wrong on purpose), and the
// server records, per token, when it was due and when it went on the wire, so
// the far end can measure latency from the intended send time.
//
// One thread runs an event loop (epoll) over every connection: a heap of
// due times releases each answer's writes at their intended times, and one
// wake-up serves every answer due by then; writes never block, a connection
// that stops reading is timed out, and an idle connection costs a few hundred
// bytes, never a thread (at most plan.max_connections are open at once).
// Only this machine's user (or root) is served: a request from another local
// user is refused and counted. answers() is read after stop(); the atomics
// are for a watchdog while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
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
  // Connections open at once (a flood of idle connections must not exhaust
  // the process's descriptors); at the cap the oldest idle one is closed to
  // make room, and counted.
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
  std::uint32_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  std::int64_t last_activity_ns() const { return last_activity_ns_.load(std::memory_order_relaxed); }

 private:
  struct Connection;  // a connection's state between events (llm_server.cpp)
  struct Timer {
    std::int64_t due_ns;
    int fd;
    std::uint64_t ticket;  // the arming it belongs to: a later one makes it stale
    bool operator>(const Timer& other) const { return due_ns > other.due_ns; }
  };
  void loop();
  void run_due_timers(std::int64_t now_ns);
  void accept_ready(std::int64_t now_ns);
  bool make_room();
  void on_ready(int fd, std::uint32_t events);
  // Writes, answers and reads as far as the connection can go without waiting.
  void drive(Connection& c);
  bool serve_next_request(Connection& c, std::int64_t now_ns);
  void handle_request(Connection& c, std::int64_t now_ns);
  void respond(Connection& c, unsigned status, std::string_view body);
  void end_answer(Connection& c, std::int64_t now_ns);
  void arm(Connection& c, std::int64_t due_ns);
  void watch(Connection& c, std::uint32_t events);
  void close(Connection& c);

  AnswerPlan plan_;
  net::Fd listener_;
  std::uint16_t port_ = 0;
  net::Fd epoll_, wake_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
  // The loop's own state: only its thread touches it.
  std::vector<std::unique_ptr<Connection>> connections_;  // by descriptor
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::deque<std::pair<int, std::uint64_t>> idle_;  // connections waiting for a request, oldest first
  std::uint64_t next_ticket_ = 1;
  std::uint64_t accept_ticket_ = 0;  // armed while accepting backs off
  mutable std::mutex mutex_;  // guards answers_
  std::vector<std::unique_ptr<AnswerRecord>> answers_;  // in the order they were asked for
  std::atomic<std::uint64_t> tokens_sent_{0};
  std::atomic<std::uint32_t> generate_requests_{0}, tags_requests_{0}, foreign_requests_{0}, refused_connections_{0};
  std::atomic<int> answering_{0};
  std::atomic<std::uint32_t> open_connections_{0};
  std::atomic<std::int64_t> last_activity_ns_{0};
};

}  // namespace aiway
