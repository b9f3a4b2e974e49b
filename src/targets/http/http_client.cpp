#include "targets/http/http_client.hpp"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "measure/clock.hpp"
#include "net/http.hpp"
#include "upstream/body_format.hpp"
#include "upstream/token_text.hpp"
#include "wire/messages.hpp"

namespace aiway {

std::string_view to_string(StreamEnd end) {
  switch (end) {
    case StreamEnd::not_started: return "not started";
    case StreamEnd::open: return "open";
    case StreamEnd::done: return "done";
    case StreamEnd::truncated: return "truncated";
    case StreamEnd::http_error: return "http error";
    case StreamEnd::refused: return "refused";
    case StreamEnd::timed_out: return "timed out";
    case StreamEnd::malformed: return "malformed";
    case StreamEnd::upstream_error: return "upstream error";
  }
  return "?";
}

namespace {

namespace http = net::http;
using beast_view = boost::beast::string_view;

constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kMaxEventBytes = 1 << 20;  // an event or line longer than this is malformed
constexpr std::int64_t kMaxWaitNs = 10'000'000;  // the loop looks at stop and the deadlines this often

std::int64_t ms_ns(double ms) { return std::int64_t(ms * 1e6); }

std::string request_text(const HttpClientPlan& plan, std::uint32_t stream) {
  nlohmann::json body;
  body["model"] = "yollayah";
  body["stream"] = true;
  const std::string prompt = fmt::format("aiway-stress stream {}: answer with the planned tokens", stream);
  if (plan.api == net::StreamApi::ollama_generate) body["prompt"] = prompt;
  else body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", prompt}}});
  http::request<http::string_body> req{http::verb::post, plan.url.path, 11};
  req.set(http::field::host, fmt::format("{}:{}", plan.url.address.host, plan.url.address.port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, net::is_sse(plan.api) ? "text/event-stream" : "application/x-ndjson");
  req.body() = body.dump();
  req.prepare_payload();
  return net::header_text(req.base()) + req.body();
}

StreamEvent sse_event(const std::string& data) {
  if (data == "[DONE]") return {StreamEvent::done, {}};
  const auto j = nlohmann::json::parse(data, nullptr, false);
  if (!j.is_object()) return {StreamEvent::malformed, "an event whose data is not JSON"};
  if (j.contains("error")) return {StreamEvent::error, j["error"].dump()};
  const auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array()) return {StreamEvent::malformed, "an event without choices"};
  if (choices->empty()) return {StreamEvent::ignored, {}};  // e.g. a usage chunk
  const auto& choice = (*choices)[0];
  if (!choice.is_object() || !choice.contains("delta") || !choice["delta"].is_object())
    return {StreamEvent::malformed, "a choice without a delta"};
  const auto& delta = choice["delta"];
  const auto content = delta.find("content");
  if (content == delta.end() || content->is_null()) return {StreamEvent::ignored, {}};  // the role, or finish_reason
  if (!content->is_string()) return {StreamEvent::malformed, "delta.content is not a string"};
  if (content->get_ref<const std::string&>().empty()) return {StreamEvent::ignored, {}};  // e.g. the first chunk's role
  return {StreamEvent::token, content->get<std::string>()};
}

StreamEvent ndjson_line(const std::string& line, net::StreamApi api) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return {StreamEvent::malformed, "a line that is not a JSON object"};
  if (j.contains("error")) return {StreamEvent::error, j["error"].dump()};
  const nlohmann::json* content = nullptr;
  if (api == net::StreamApi::ollama_generate) {
    if (const auto r = j.find("response"); r != j.end()) content = &*r;
  } else if (const auto m = j.find("message"); m != j.end() && m->is_object()) {
    if (const auto c = m->find("content"); c != m->end()) content = &*c;
  }
  const auto done = j.find("done");
  if (done != j.end() && *done == true) return {StreamEvent::done, {}};
  if (!content || !content->is_string()) return {StreamEvent::malformed, "a line without its text"};
  if (content->get_ref<const std::string&>().empty()) return {StreamEvent::ignored, {}};
  return {StreamEvent::token, content->get<std::string>()};
}

}  // namespace

StreamEvent read_stream_unit(net::StreamApi api, std::string_view unit, bool fast) {
  if (fast)
    if (const auto text = BodyFormat{api}.fast_token(unit)) return {StreamEvent::token, std::string(*text)};
  return net::is_sse(api) ? sse_event(std::string(unit)) : ndjson_line(std::string(unit), api);
}

struct HttpStreamClient::Connection {
  HttpStreamBooks* books = nullptr;
  net::Fd fd;
  enum class Phase { connecting, writing, reading } phase = Phase::connecting;
  std::string request;
  std::size_t written = 0;
  std::optional<http::response_parser<http::string_body>> parser;
  std::function<void(std::uint64_t, beast_view, boost::beast::error_code&)> on_chunk_header;
  std::function<std::size_t(std::uint64_t, beast_view, boost::beast::error_code&)> on_chunk_body;
  std::string pending;   // bytes read that the parser has not taken yet
  std::string text;      // body text not yet split into events or lines
  std::string data;      // SSE: the data of the event being read
  std::string error_body;  // a non-2xx answer's body, for the report
  std::int64_t deadline_ns = 0;  // to connect, or for the next byte
  std::int64_t resume_ns = 0;    // stalled until then
  std::int64_t now_ns = 0;       // when the bytes being parsed arrived
  std::int64_t highest = -1;
  bool done_seen = false;
  bool ended = false;
  bool in_open = false;  // counted among the live streams
  std::string expected;  // scratch: the text a token must have
};

HttpStreamClient::HttpStreamClient(HttpClientPlan plan) : plan_(std::move(plan)) {
  books_.resize(plan_.streams.size());
  plan_.stalls.resize(plan_.streams.size(), false);
  for (std::size_t i = 0; i < books_.size(); ++i) {
    books_[i].index = plan_.streams[i];
    books_[i].due_ns = plan_.due_ns[i];
  }
}

HttpStreamClient::~HttpStreamClient() { stop_and_join(); }

void HttpStreamClient::start() { thread_ = std::thread([this] { loop(); }); }

void HttpStreamClient::stop_and_join() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

// One client thread's event loop over its streams: starts each when due,
// writes its request, reads and books every token, and ends it with a reason.
class HttpStreamClient::Loop {
 public:
  explicit Loop(HttpStreamClient& client)
      : plan_(client.plan_),
        books_(client.books_),
        tokens_seen_(client.tokens_seen_),
        last_receive_ns_(client.last_receive_ns_),
        stop_(client.stop_),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        cap_(plan_.max_concurrent ? plan_.max_concurrent : ~0u),
        // Deadlines and planned stalls are looked at every sweep_ns_ (a
        // fraction of the shortest timeout), not per wake-up.
        sweep_ns_(std::max<std::int64_t>(
            1'000'000, std::min({kMaxWaitNs, ms_ns(plan_.stream_timeout_ms) / 20, ms_ns(plan_.connect_timeout_ms) / 20}))) {}
  void run();

 private:
  void watch(Connection& c, std::uint32_t events);
  void finish(Connection& c, StreamEnd end, std::string detail, std::int64_t now);
  void take_event(Connection& c, const StreamEvent& e);
  void take_text(Connection& c, beast_view bytes);
  void start_stream(std::size_t i, std::int64_t now);
  void on_writable(Connection& c, std::int64_t now);
  void on_readable(Connection& c, std::int64_t now);
  std::int64_t sweep(std::int64_t now);

  const HttpClientPlan& plan_;
  std::vector<HttpStreamBooks>& books_;
  std::atomic<std::uint64_t>& tokens_seen_;
  std::atomic<std::int64_t>& last_receive_ns_;
  const std::atomic<bool>& stop_;
  net::Fd epoll_;
  std::vector<std::unique_ptr<Connection>> open_;
  std::size_t next_ = 0;  // the next stream to start
  std::size_t live_ = 0;  // streams in open_ not yet ended
  std::uint32_t cap_;
  std::int64_t sweep_ns_;
  char buffer_[kReadSize];
};

void HttpStreamClient::Loop::watch(Connection& c, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

void HttpStreamClient::Loop::finish(Connection& c, StreamEnd end, std::string detail, std::int64_t now) {
  if (c.ended) return;
  c.ended = true;
  if (c.in_open) --live_;
  c.books->end = end;
  c.books->detail = std::move(detail);
  c.books->end_ns = now;
  c.fd.reset();  // closing removes it from the epoll set
}

// Books one event: a token by its sequence number (first arrival, duplicate,
// reorder, corruption), the done marker, or the end it brings.
void HttpStreamClient::Loop::take_event(Connection& c, const StreamEvent& e) {
  HttpStreamBooks& b = *c.books;
  switch (e.kind) {
    case StreamEvent::ignored: return;
    case StreamEvent::done: c.done_seen = true; return;
    case StreamEvent::error: finish(c, StreamEnd::upstream_error, "an error in the stream: " + e.text, c.now_ns); return;
    case StreamEvent::malformed: finish(c, StreamEnd::malformed, e.text, c.now_ns); return;
    case StreamEvent::token: break;
  }
  const auto seq = token_seq(e.text);
  if (!seq) {
    ++b.corrupted;  // not a token the upstream sent
    return;
  }
  const auto answer = std::int64_t(*seq / plan_.tokens);
  const auto at = std::int64_t(*seq % plan_.tokens);
  if (b.answer < 0) {
    b.answer = answer;
    b.received_ns.assign(plan_.tokens, 0);
    b.gaps_ns.reserve(plan_.tokens);  // no allocation per token
  }
  token_text(*seq, plan_.size, plan_.multibyte, c.expected);
  if (answer != b.answer || e.text != c.expected) {
    ++b.corrupted;  // another stream's token, or changed on the way
    return;
  }
  std::int64_t& got = b.received_ns[std::size_t(at)];
  if (got != 0) {
    ++b.duplicated;
    return;
  }
  if (at < c.highest) ++b.reordered;
  c.highest = std::max(c.highest, at);
  got = c.now_ns;
  if (b.first_token_ns == 0) b.first_token_ns = c.now_ns;
  else b.gaps_ns.push_back(c.now_ns - b.last_token_ns);
  b.last_token_ns = c.now_ns;
  ++b.delivered;
  tokens_seen_.fetch_add(1, std::memory_order_relaxed);
  if (plan_.stall_at > 0 && b.delivered == plan_.stall_at && !b.stalled && plan_.stalls[std::size_t(&b - books_.data())]) {
    b.stalled = true;
    c.resume_ns = c.now_ns + ms_ns(plan_.stall_ms);
  }
}

// Splits the body text into events (SSE: at blank lines, as the
// specification says; NDJSON: at newlines) and books each.
void HttpStreamClient::Loop::take_text(Connection& c, beast_view bytes) {
  c.books->body_bytes += bytes.size();
  c.text.append(bytes.data(), bytes.size());
  std::size_t from = 0;
  for (std::size_t nl; !c.ended && (nl = c.text.find('\n', from)) != std::string::npos; from = nl + 1) {
    std::string_view line(c.text.data() + from, nl - from);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!net::is_sse(plan_.api)) {
      if (!line.empty()) take_event(c, read_stream_unit(plan_.api, line));
      continue;
    }
    if (line.empty()) {  // the blank line ends an event
      if (!c.data.empty()) {
        if (c.data.back() == '\n') c.data.pop_back();
        take_event(c, read_stream_unit(plan_.api, c.data));
      }
      c.data.clear();
    } else if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (line.starts_with(' ')) line.remove_prefix(1);
      c.data.append(line).push_back('\n');
    }  // comments (":") and other fields (event, id, retry) carry no token
  }
  c.text.erase(0, from);
  if (!c.ended && (c.text.size() > kMaxEventBytes || c.data.size() > kMaxEventBytes))
    finish(c, StreamEnd::malformed, "an event or line over 1 MiB", c.now_ns);
}

void HttpStreamClient::Loop::start_stream(std::size_t i, std::int64_t now) {
  auto c = std::make_unique<Connection>();
  c->books = &books_[i];
  c->request = request_text(plan_, books_[i].index);
  c->deadline_ns = now + ms_ns(plan_.connect_timeout_ms);
  c->parser.emplace();
  c->parser->body_limit(std::numeric_limits<std::uint64_t>::max());  // a stream may be long
  Connection* raw = c.get();
  c->on_chunk_header = [raw](std::uint64_t size, beast_view, boost::beast::error_code&) {
    if (size > 0) ++raw->books->chunks;
  };
  c->on_chunk_body = [this, raw](std::uint64_t, beast_view body, boost::beast::error_code&) {
    // The header is complete before any chunk: its status decides what the body is.
    if (raw->parser->get().result_int() / 100 == 2) take_text(*raw, body);
    else if (raw->error_body.size() < 200) raw->error_body.append(body.data(), std::min<std::size_t>(body.size(), 200 - raw->error_body.size()));
    return body.size();
  };
  c->parser->on_chunk_header(c->on_chunk_header);
  c->parser->on_chunk_body(c->on_chunk_body);
  sockaddr_in addr{};
  if (!net::resolve_ipv4(plan_.url.address.host, plan_.url.address.port, addr)) {
    finish(*c, StreamEnd::refused, fmt::format("{} has no IPv4 address", plan_.url.address.host), now);
    return;
  }
  c->fd = net::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(c->fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    finish(*c, StreamEnd::refused, fmt::format("connect: {}", std::strerror(errno)), now);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.ptr = c.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->fd.get(), &ev);
  c->in_open = true;
  ++live_;
  open_.push_back(std::move(c));
}

void HttpStreamClient::Loop::on_writable(Connection& c, std::int64_t now) {
  if (c.phase == Connection::Phase::connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return finish(c, StreamEnd::refused, fmt::format("connect: {}", std::strerror(err)), now);
    c.phase = Connection::Phase::writing;
  }
  while (c.written < c.request.size()) {
    const ssize_t n = ::send(c.fd.get(), c.request.data() + c.written, c.request.size() - c.written, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) return finish(c, StreamEnd::refused, fmt::format("writing the request: {}", std::strerror(errno)), now);
    c.written += std::size_t(n);
  }
  c.books->request_ns = now;
  c.phase = Connection::Phase::reading;
  c.deadline_ns = now + ms_ns(plan_.stream_timeout_ms);
  watch(c, EPOLLIN | EPOLLRDHUP);
}

void HttpStreamClient::Loop::on_readable(Connection& c, std::int64_t now) {
  const ssize_t n = ::recv(c.fd.get(), buffer_, sizeof buffer_, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  auto& p = *c.parser;
  HttpStreamBooks& b = *c.books;
  c.now_ns = now;
  if (n <= 0) {  // closed or reset: whatever the parser holds ends here
    const std::string why = n < 0 ? fmt::format("the connection failed: {}", std::strerror(errno)) : "the connection closed";
    boost::beast::error_code ec;
    if (p.is_header_done() && !p.is_done()) {
      p.put_eof(ec);  // a body delimited by the end of the connection ends here
      if (!ec) take_text(c, p.get().body());
    }
    if (c.ended) return;
    if (!p.is_header_done()) return finish(c, StreamEnd::truncated, why + " before the response's header", now);
    if (b.status / 100 != 2) return finish(c, StreamEnd::http_error, fmt::format("HTTP {}: {}", b.status, c.error_body), now);
    if (c.done_seen) return finish(c, StreamEnd::done, {}, now);
    return finish(c, StreamEnd::truncated, why + " mid-stream, without the done marker", now);
  }
  last_receive_ns_.store(now, std::memory_order_relaxed);
  c.deadline_ns = now + ms_ns(plan_.stream_timeout_ms);
  c.pending.append(buffer_, std::size_t(n));
  boost::beast::error_code ec;
  const bool had_header = p.is_header_done();
  net::put_pending(p, c.pending, ec);
  if (ec) return finish(c, StreamEnd::malformed, fmt::format("a broken HTTP response: {}", ec.message()), now);
  if (!had_header && p.is_header_done()) {
    b.headers_ns = now;
    b.status = p.get().result_int();
  }
  if (b.status / 100 != 2) {
    // An error answer: keep the start of its body for the report.
    c.error_body.append(p.get().body().substr(0, std::max<std::size_t>(200, c.error_body.size()) - c.error_body.size()));
    p.get().body().clear();
    if (p.is_done()) finish(c, StreamEnd::http_error, fmt::format("HTTP {}: {}", b.status, c.error_body), now);
    return;
  }
  if (!p.get().body().empty()) {  // a body that is not chunked
    take_text(c, p.get().body());
    p.get().body().clear();
  }
  if (c.ended) return;
  if (p.is_done()) {
    if (c.done_seen) return finish(c, StreamEnd::done, {}, now);
    return finish(c, StreamEnd::truncated, "the body ended without the done marker", now);
  }
  if (c.resume_ns > now) watch(c, 0);  // the planned stall: stop reading
}

// Deadlines and planned stalls, looked at every sweep_ns_ or at the earliest
// stall's end, not per wake-up: a scan of every open stream per token would
// make a token's cost grow with the streams. Returns when to sweep next;
// ended streams leave open_ here.
std::int64_t HttpStreamClient::Loop::sweep(std::int64_t now) {
  std::int64_t next_sweep = now + sweep_ns_;
  for (auto& c : open_) {
    if (c->ended) continue;
    if (c->resume_ns > 0) {
      if (c->resume_ns <= now) {
        c->resume_ns = 0;
        c->deadline_ns = now + ms_ns(plan_.stream_timeout_ms);
        watch(*c, EPOLLIN | EPOLLRDHUP);
      } else {
        next_sweep = std::min(next_sweep, c->resume_ns);
        continue;
      }
    }
    if (now >= c->deadline_ns) {
      const bool connecting = c->phase != Connection::Phase::reading;
      finish(*c, StreamEnd::timed_out,
             connecting ? fmt::format("no connection within {} ms", plan_.connect_timeout_ms)
                        : fmt::format("nothing arrived for {} ms", plan_.stream_timeout_ms),
             now);
    }
  }
  std::erase_if(open_, [](const auto& c) { return c->ended; });
  return next_sweep;
}

void HttpStreamClient::Loop::run() {
  std::int64_t next_sweep_ns = 0;
  for (;;) {
    std::int64_t now = monotonic_ns();
    if (stop_.load()) break;
    // Start what is due, within the cap.
    while (next_ < books_.size() && live_ < cap_ && books_[next_].due_ns <= now) start_stream(next_++, now);
    if (now >= next_sweep_ns) next_sweep_ns = sweep(now);
    std::int64_t wake = std::min(now + kMaxWaitNs, next_sweep_ns);
    if (next_ < books_.size() && live_ < cap_) wake = std::min(wake, books_[next_].due_ns);
    if (next_ == books_.size() && live_ == 0) break;
    epoll_event events[256];
    // To the nanosecond: a stream due in 300 us starts then, not at the next millisecond.
    const std::int64_t wait_ns = std::max<std::int64_t>(0, wake - now);
    const timespec wait{time_t(wait_ns / 1'000'000'000), long(wait_ns % 1'000'000'000)};
    const int n = ::epoll_pwait2(epoll_.get(), events, 256, &wait, nullptr);
    now = monotonic_ns();
    for (int i = 0; i < n; ++i) {
      auto& c = *static_cast<Connection*>(events[i].data.ptr);
      if (c.ended) continue;
      // A receive time per read, not per wake-up: a batch of ready streams takes a while to read.
      if (c.phase != Connection::Phase::reading) on_writable(c, now);
      else on_readable(c, monotonic_ns());
    }
  }
  const std::int64_t now = monotonic_ns();
  for (auto& c : open_) finish(*c, StreamEnd::open, "still open when the run ended", now);
}

void HttpStreamClient::loop() {
  Loop(*this).run();
  finished_ = true;
}

}  // namespace aiway
