#include "upstream/llm_server.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "measure/clock.hpp"
#include "net/http.hpp"
#include "upstream/answer_stream.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {

// A connection waiting for a request (an idle keep-alive one, or one whose
// headers trickle in) is closed after this.
constexpr std::int64_t kRequestTimeoutNs = 60'000'000'000;
// Out of descriptors, accepting pauses this long: the pending connection
// stays ready, and accepting again at once would spin the loop at a full CPU.
constexpr std::int64_t kAcceptBackoffNs = 10'000'000;
// An answer streaming flat out yields the loop after this many writes, so
// one fast connection cannot starve the others' due tokens.
constexpr int kWritesPerTurn = 64;
constexpr int kEventsPerWait = 256;
// The most one write gathers of an answer's due writes.
constexpr std::size_t kGatherBytes = 16 * 1024;

// The prompt of a streaming request, or why the request is refused.
struct StreamRequest {
  std::string prompt;
  std::string refusal;  // non-empty: answered 400 with this
};

StreamRequest read_stream_request(net::StreamApi api, const std::string& body_text) {
  StreamRequest r;
  const auto body = nlohmann::json::parse(body_text, nullptr, false);
  if (!body.is_object()) {
    r.refusal = "the request body is not a JSON object";
    return r;
  }
  if (api == net::StreamApi::ollama_generate) {
    if (body.contains("prompt") && body["prompt"].is_string()) r.prompt = body["prompt"];
    return r;  // Ollama streams unless told not to; the conductor never says
  }
  if (api == net::StreamApi::openai_chat && !(body.contains("stream") && body["stream"] == true)) {
    r.refusal = "the harness's upstream only streams: send \"stream\": true";
    return r;
  }
  if (api == net::StreamApi::ollama_chat && body.contains("stream") && body["stream"] == false) {
    r.refusal = "the harness's upstream only streams: leave \"stream\" out or true";
    return r;
  }
  if (body.contains("messages") && body["messages"].is_array() && !body["messages"].empty()) {
    const auto& last = body["messages"].back();
    if (last.is_object() && last.contains("content") && last["content"].is_string()) r.prompt = last["content"];
  }
  return r;
}

std::string error_body(std::string_view message) {
  std::string body = R"({"error":)";
  wire::append_json_string(body, message);
  body.push_back('}');
  return body;
}

}  // namespace

AnswerPlan answer_plan(const Scenario& s, std::uint32_t requests_per_stream) {
  AnswerPlan p;
  p.tokens = s.backend.messages;
  p.size = s.backend.size;
  p.rate_tps = s.backend.rate_tps;
  p.arrival = s.backend.arrival;
  p.burstiness = s.backend.burstiness;
  p.seed = s.backend.seed;
  const UpstreamConfig& u = s.upstream;
  p.headers_delay_ms = u.headers_delay_ms;
  p.first_token_delay_ms = u.first_token_delay_ms;
  p.tokens_per_chunk = u.tokens_per_chunk;
  p.split_lines = u.split_lines;
  p.split_utf8 = u.split_utf8;
  p.status = int(u.status);
  p.error_line_at = u.error_line_at;
  p.reset_at = u.reset_at;
  p.eof_without_done = u.eof_without_done;
  if (u.empty_answer) p.tokens = 0;
  p.write_timeout_ms = u.write_timeout_ms;
  // Room for every planned request twice (a proxy may open its own next to a
  // client's), and for probes.
  p.max_connections = 2 * s.backend.streams * requests_per_stream + 64;
  return p;
}

struct LlmServer::Connection {
  enum class Then { read, close, reset };  // once the last response is out, with no answer running
  net::Fd fd;
  int slot = -1;  // its place in connections_: the descriptor it was accepted on
  bool foreign = false;  // another user of this machine: refused, never served
  bool reading = false;  // waiting for a request (idle: may be closed to make room)
  std::uint64_t idle_ticket = 0, timer_ticket = 0;
  std::int64_t armed_due_ns = 0;  // the live timer's due time
  std::uint32_t events = 0;  // what epoll watches for it
  std::string in;            // bytes read, not yet parsed
  std::optional<net::http::request_parser<net::http::string_body>> parser;
  std::int64_t read_since_ns = 0;
  std::string out;  // bytes to write
  std::size_t out_at = 0;
  std::int64_t write_since_ns = 0;  // when the unwritten bytes began to wait for the peer
  std::unique_ptr<AnswerStream> answer;
  AnswerRecord* record = nullptr;
  AnswerStream::End answer_end = AnswerStream::End::more;
  bool keep_alive = true;
  Then then = Then::read;
};

LlmServer::LlmServer(AnswerPlan plan, const net::HostPort& address)
    : plan_(plan), listener_(net::listen_tcp(address.host, address.port, 1024)) {
  port_ = net::local_port(listener_.get());
  ::fcntl(listener_.get(), F_SETFL, ::fcntl(listener_.get(), F_GETFL) | O_NONBLOCK);
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_ || !wake_) throw std::system_error(errno, std::generic_category(), "the upstream's event loop");
  epoll_event listen{EPOLLIN, {.fd = listener_.get()}}, wake{EPOLLIN, {.fd = wake_.get()}};
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &listen);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &wake);
}

LlmServer::~LlmServer() { stop(); }

void LlmServer::start() { loop_ = std::thread([this] { loop(); }); }

void LlmServer::stop() {
  stop_ = true;
  const std::uint64_t one = 1;
  if (wake_) [[maybe_unused]] const auto ignored = ::write(wake_.get(), &one, sizeof one);
  if (loop_.joinable()) loop_.join();
}

std::vector<AnswerRecord> LlmServer::answers() const {
  std::lock_guard lock(mutex_);
  std::vector<AnswerRecord> out;
  for (const auto& a : answers_) out.push_back(*a);
  return out;
}

void LlmServer::loop() {
  epoll_event events[kEventsPerWait];
  while (!stop_.load(std::memory_order_relaxed)) {
    run_due_timers(monotonic_ns());
    timespec wait{1, 0};  // nothing due: a second (stop() wakes the loop anyway)
    if (!timers_.empty()) {
      const std::int64_t in_ns = std::max<std::int64_t>(0, timers_.top().due_ns - monotonic_ns());
      wait = timespec{time_t(in_ns / 1'000'000'000), long(in_ns % 1'000'000'000)};
    }
    const int n = ::epoll_pwait2(epoll_.get(), events, kEventsPerWait, &wait, nullptr);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.get()) continue;
      if (fd == listener_.get()) accept_ready(monotonic_ns());
      else on_ready(fd, events[i].events);
    }
  }
  // Stopped: what is still being answered ends unfinished.
  for (auto& c : connections_)
    if (c) close(*c);
}

void LlmServer::run_due_timers(std::int64_t now_ns) {
  // A connection re-armed while these run is due after now_ns: it waits for
  // the next turn of the loop, so one cannot keep the others waiting.
  while (!timers_.empty() && timers_.top().due_ns <= now_ns) {
    const Timer t = timers_.top();
    timers_.pop();
    if (t.fd == listener_.get()) {
      if (t.ticket != accept_ticket_) continue;
      accept_ticket_ = 0;
      epoll_event listen{EPOLLIN, {.fd = listener_.get()}};
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &listen);
      continue;
    }
    Connection* c = std::size_t(t.fd) < connections_.size() ? connections_[t.fd].get() : nullptr;
    if (c && c->timer_ticket == t.ticket) {
      c->armed_due_ns = 0;
      drive(*c);
    }
  }
}

void LlmServer::accept_ready(std::int64_t now_ns) {
  for (int accepted = 0; accepted < kEventsPerWait; ++accepted) {
    net::Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        epoll_event none{0, {.fd = listener_.get()}};
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener_.get(), &none);
        accept_ticket_ = next_ticket_++;
        timers_.push({now_ns + kAcceptBackoffNs, listener_.get(), accept_ticket_});
      }
      return;
    }
    if (open_connections_ >= plan_.max_connections && !make_room()) {
      ++refused_connections_;
      continue;  // every open one is answering: the new one is closed as it goes out of scope
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    // Another user of this machine is no part of the run: whatever it asks is
    // refused and counted, so it can neither take a planned answer nor move a figure.
    const std::optional<unsigned> uid = net::loopback_peer_uid(fd.get());
    c->foreign = uid && *uid != ::geteuid() && *uid != 0;
    c->fd = std::move(fd);
    c->read_since_ns = now_ns;
    epoll_event e{0, {.fd = c->fd.get()}};
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->fd.get(), &e);
    const int at = c->slot = c->fd.get();
    if (std::size_t(at) >= connections_.size()) connections_.resize(std::size_t(at) + 1);
    connections_[at] = std::move(c);
    ++open_connections_;
    drive(*connections_[at]);
  }
}

// At the cap, the oldest connection waiting for a request (idle: an
// attacker's, or a keep-alive no one uses) makes room; one that is being
// answered never does.
bool LlmServer::make_room() {
  while (!idle_.empty()) {
    const auto [fd, ticket] = idle_.front();
    idle_.pop_front();
    Connection* c = std::size_t(fd) < connections_.size() ? connections_[fd].get() : nullptr;
    if (c && c->reading && c->idle_ticket == ticket) {
      close(*c);
      ++refused_connections_;
      return true;
    }
  }
  return false;
}

void LlmServer::on_ready(int fd, std::uint32_t events) {
  Connection* c = std::size_t(fd) < connections_.size() ? connections_[fd].get() : nullptr;
  if (!c) return;
  if (c->reading && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    char buffer[16 * 1024];
    for (;;) {
      const ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (got > 0) {
        c->in.append(buffer, std::size_t(got));
        if (std::size_t(got) < sizeof buffer) break;
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
      close(*c);  // the peer closed, or the connection failed, between requests
      return;
    }
  } else if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLOUT)) {
    // Gone while an answer waits for its next token's time.
    if (c->record) c->record->peer_closed = true;
    close(*c);
    return;
  }
  drive(*c);
}

void LlmServer::drive(Connection& c) {
  for (int writes = 0;;) {
    if (c.out_at < c.out.size()) {
      const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_at, c.out.size() - c.out_at, MSG_NOSIGNAL | MSG_DONTWAIT);
      const std::int64_t now = monotonic_ns();
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        if (c.record) c.record->peer_closed = true;
        return close(c);
      }
      if (n > 0) c.out_at += std::size_t(n);
      if (c.out_at < c.out.size()) {
        if (c.write_since_ns == 0) c.write_since_ns = now;
        if (now - c.write_since_ns >= std::int64_t(plan_.write_timeout_ms * 1e6)) {
          if (c.record) c.record->write_timed_out = true;
          return close(c);  // the peer stopped reading: the answer is abandoned
        }
        watch(c, EPOLLOUT);
        return arm(c, c.write_since_ns + std::int64_t(plan_.write_timeout_ms * 1e6));
      }
      c.out.clear();
      c.out_at = 0;
      c.write_since_ns = 0;
      ++writes;
    }
    const std::int64_t now = monotonic_ns();
    if (c.answer) {
      if (const std::uint64_t sent = c.answer->written(now); sent > 0) {
        tokens_sent_.fetch_add(sent, std::memory_order_relaxed);
        last_activity_ns_.store(now, std::memory_order_relaxed);
      }
      if (c.answer_end != AnswerStream::End::more) {
        end_answer(c, now);
        continue;
      }
      watch(c, 0);
      if (c.answer->due_ns() > now) return arm(c, c.answer->due_ns());
      if (writes >= kWritesPerTurn) return arm(c, now + 1);
      // Everything due by now goes out in one write (a flat-out answer, or a
      // paced one catching up): a write per token would wake the reader per
      // token, the cost of a ping-pong, not of the stream.
      do c.answer_end = c.answer->next(now, c.out);
      while (c.answer_end == AnswerStream::End::more && c.answer->gathers() && c.out.size() < kGatherBytes &&
             c.answer->due_ns() <= now);
      continue;
    }
    if (c.then == Connection::Then::close) return close(c);
    if (c.then == Connection::Then::reset) {
      net::reset_connection(c.fd);
      return close(c);
    }
    if (!serve_next_request(c, now)) return;
  }
}

// Parses what was read; a whole request is handled (true: drive on), else
// the connection waits for more of it, within the request timeout.
bool LlmServer::serve_next_request(Connection& c, std::int64_t now_ns) {
  if (!c.reading) {
    c.reading = true;
    c.read_since_ns = now_ns;
    c.idle_ticket = next_ticket_++;
    idle_.emplace_back(c.fd.get(), c.idle_ticket);
  }
  if (!c.parser) {
    c.parser.emplace();
    c.parser->eager(true);
    c.parser->body_limit(16 << 20);
  }
  boost::beast::error_code ec;
  net::put_pending(*c.parser, c.in, ec);
  if (ec) {
    close(c);  // not HTTP: nothing to answer
    return false;
  }
  if (c.parser->is_done()) {
    c.reading = false;
    handle_request(c, now_ns);
    c.parser.reset();
    return true;
  }
  if (now_ns - c.read_since_ns >= kRequestTimeoutNs) {
    close(c);
    return false;
  }
  watch(c, EPOLLIN);
  arm(c, c.read_since_ns + kRequestTimeoutNs);
  return false;
}

void LlmServer::handle_request(Connection& c, std::int64_t now_ns) {
  namespace http = net::http;
  const auto& request = c.parser->get();
  last_activity_ns_ = now_ns;
  const std::string target(request.target());
  const auto api = net::stream_api_of(target);
  c.keep_alive = request.keep_alive();
  c.then = c.keep_alive ? Connection::Then::read : Connection::Then::close;
  if (c.foreign) {
    ++foreign_requests_;
    c.then = Connection::Then::close;
    return respond(c, 403, error_body("this upstream serves the harness's own run only"));
  }
  if (request.method() == http::verb::get && target == "/api/tags") {
    ++tags_requests_;
    return respond(c, 200, R"({"models":[{"name":"yollayah:latest","model":"yollayah:latest"}]})");
  }
  if (request.method() != http::verb::post || !api) return respond(c, 404, error_body("not found"));
  const StreamRequest asked = read_stream_request(*api, request.body());
  if (!asked.refusal.empty()) return respond(c, 400, error_body(asked.refusal));
  ++generate_requests_;
  auto record = std::make_unique<AnswerRecord>();
  record->request_ns = now_ns;
  record->prompt = asked.prompt;
  record->api = *api;
  c.record = record.get();
  {
    std::lock_guard lock(mutex_);
    record->first_seq = std::uint64_t(answers_.size()) * plan_.tokens;
    answers_.push_back(std::move(record));
  }
  ++answering_;
  c.answer = std::make_unique<AnswerStream>(plan_, *c.record, request.version() >= 11, now_ns);
  c.answer_end = AnswerStream::End::more;
}

void LlmServer::respond(Connection& c, unsigned status, std::string_view body) {
  namespace http = net::http;
  http::response<http::string_body> res;
  res.version(11);
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = std::string(body);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  c.out += out.str();
}

void LlmServer::end_answer(Connection& c, std::int64_t now_ns) {
  using End = AnswerStream::End;
  if (c.answer_end == End::reset) c.then = Connection::Then::reset;
  else if (c.answer_end == End::close) c.then = Connection::Then::close;
  c.answer.reset();
  c.record = nullptr;
  --answering_;
  last_activity_ns_.store(now_ns, std::memory_order_relaxed);
}

void LlmServer::arm(Connection& c, std::int64_t due_ns) {
  if (c.armed_due_ns == due_ns) return;  // already armed for then (a request read in pieces)
  c.armed_due_ns = due_ns;
  c.timer_ticket = next_ticket_++;
  timers_.push({due_ns, c.fd.get(), c.timer_ticket});
}

void LlmServer::watch(Connection& c, std::uint32_t events) {
  if (c.events == events) return;
  c.events = events;
  epoll_event e{events, {.fd = c.fd.get()}};
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &e);
}

void LlmServer::close(Connection& c) {
  if (c.answer) {
    c.answer->abandon(monotonic_ns());
    --answering_;
    last_activity_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  }
  --open_connections_;
  connections_[std::size_t(c.slot)].reset();  // closes the descriptor, which leaves the epoll set
}

}  // namespace aiway
