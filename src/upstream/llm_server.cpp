#include "upstream/llm_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "measure/clock.hpp"
#include "net/http.hpp"
#include "pipeline/arrival.hpp"
#include "upstream/body_format.hpp"
#include "upstream/token_text.hpp"
#include "wire/messages.hpp"

namespace aiway {
namespace {

constexpr double kRequestTimeoutMs = 60'000;  // an idle keep-alive connection is closed after this

// Sleeps on CLOCK_MONOTONIC until due_ns, in slices that look at `stop`;
// false when stopped. One clock: the deadline and the sleep are both CLOCK_MONOTONIC.
bool sleep_until(std::int64_t due_ns, const std::atomic<bool>& stop) {
  constexpr std::int64_t kSlice = 50'000'000;
  for (;;) {
    if (stop.load(std::memory_order_relaxed)) return false;
    const std::int64_t now = monotonic_ns();
    if (now >= due_ns) return true;
    const std::int64_t until = std::min(due_ns, now + kSlice);
    const timespec ts{time_t(until / 1'000'000'000), long(until % 1'000'000'000)};
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
}

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

LlmServer::LlmServer(AnswerPlan plan, const net::HostPort& address)
    : plan_(plan), listener_(net::listen_tcp(address.host, address.port, 1024)) {
  port_ = net::local_port(listener_.get());
}

LlmServer::~LlmServer() { stop(); }

void LlmServer::start() { acceptor_ = std::thread([this] { accept_loop(); }); }

void LlmServer::stop() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& t : connections) t.join();
}

std::vector<AnswerRecord> LlmServer::answers() const {
  std::lock_guard lock(mutex_);
  std::vector<AnswerRecord> out;
  for (const auto& a : answers_) out.push_back(*a);
  return out;
}

void LlmServer::accept_loop() {
  while (!stop_) {
    net::Fd connection = net::accept_within(listener_.get(), 0, &stop_);
    if (!connection) continue;
    if (open_connections_.load() >= plan_.max_connections && !close_one_idle_connection()) {
      ++refused_connections_;
      continue;  // every open one is answering: the new one is closed as it goes out of scope
    }
    ++open_connections_;
    auto peer = std::make_shared<Peer>();
    peer->fd = connection.get();
    peer->idle = true;  // no request read yet: it may make room from the start
    std::lock_guard lock(mutex_);
    peers_.push_back(peer);
    connections_.emplace_back([this, peer, fd = std::move(connection)]() mutable {
      serve(std::move(fd), *peer);
      peer->done = true;
      --open_connections_;
    });
  }
}

// At the cap, the oldest connection waiting for a request (idle: an
// attacker's, or a keep-alive no one uses) makes room; one that is being
// answered never does. The thread that serves it ends as its read fails.
bool LlmServer::close_one_idle_connection() {
  std::lock_guard lock(mutex_);
  std::erase_if(peers_, [](const std::shared_ptr<Peer>& p) { return p->done.load(); });
  for (const auto& p : peers_)
    if (p->idle.load() && !p->closing.exchange(true)) {
      ::shutdown(p->fd, SHUT_RDWR);
      ++refused_connections_;
      return true;
    }
  return false;
}

bool LlmServer::respond(int fd, unsigned status, std::string_view body) {
  namespace http = net::http;
  http::response<http::string_body> res;
  res.version(11);
  res.result(status);
  res.set(http::field::content_type, "application/json");
  res.body() = std::string(body);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return net::send_all(fd, out.str(), plan_.write_timeout_ms) == net::IoStatus::ok;
}

void LlmServer::serve(net::Fd connection, Peer& peer) {
  namespace http = net::http;
  std::string pending;
  // Another user of this machine is no part of the run: whatever it asks is
  // refused and counted, so it can neither take a planned answer nor move a figure.
  const std::optional<unsigned> uid = net::loopback_peer_uid(connection.get());
  const bool foreign = uid && *uid != ::geteuid() && *uid != 0;
  while (!stop_) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(16 << 20);
    boost::beast::error_code ec;
    peer.idle = true;
    if (net::read_http(connection.get(), parser, pending, false, kRequestTimeoutMs, &stop_, ec) != net::IoStatus::ok) return;
    peer.idle = false;
    if (peer.closing) return;  // closed to make room while its request came in
    const auto& request = parser.get();
    last_activity_ns_ = monotonic_ns();
    const std::string target(request.target());
    const auto api = net::stream_api_of(target);
    if (foreign) {
      ++foreign_requests_;
      respond(connection.get(), 403, error_body("this upstream serves the harness's own run only"));
      return;
    }
    if (request.method() == http::verb::get && target == "/api/tags") {
      ++tags_requests_;
      if (!respond(connection.get(), 200, R"({"models":[{"name":"yollayah:latest","model":"yollayah:latest"}]})")) return;
    } else if (request.method() == http::verb::post && api) {
      const StreamRequest asked = read_stream_request(*api, request.body());
      if (!asked.refusal.empty()) {
        if (!respond(connection.get(), 400, error_body(asked.refusal))) return;
        if (!request.keep_alive()) return;
        continue;
      }
      ++generate_requests_;
      auto record = std::make_unique<AnswerRecord>();
      record->request_ns = monotonic_ns();
      record->prompt = asked.prompt;
      record->api = *api;
      AnswerRecord* r = record.get();
      {
        std::lock_guard lock(mutex_);
        record->first_seq = std::uint64_t(answers_.size()) * plan_.tokens;
        answers_.push_back(std::move(record));
      }
      ++answering_;
      const bool reusable = answer(connection.get(), *r, request.version() >= 11);
      --answering_;
      last_activity_ns_ = monotonic_ns();
      if (!reusable) {
        if (plan_.reset_at > 0 && r->tokens_sent == plan_.reset_at) net::reset_connection(connection);
        return;
      }
    } else if (!respond(connection.get(), 404, error_body("not found"))) {
      return;
    }
    if (!request.keep_alive()) return;
  }
}

bool LlmServer::answer(int fd, AnswerRecord& r, bool chunked) {
  namespace http = net::http;
  const AnswerPlan& p = plan_;
  if (p.headers_delay_ms > 0 && !sleep_until(monotonic_ns() + std::int64_t(p.headers_delay_ms * 1e6), stop_)) return false;
  auto send = [&](std::string_view bytes) {
    const net::IoStatus s = net::send_all(fd, bytes, p.write_timeout_ms, &stop_);
    if (s == net::IoStatus::timeout) r.write_timed_out = true;
    if (s == net::IoStatus::closed) r.peer_closed = true;
    return s == net::IoStatus::ok;
  };
  if (p.status != 200) {
    r.headers_ns = monotonic_ns();
    const bool ok = respond(fd, unsigned(p.status), error_body("the harness's upstream answers with an error on purpose"));
    r.end_ns = monotonic_ns();
    r.completed = ok;
    return ok;
  }
  const BodyFormat format{r.api};
  // An HTTP/1.0 client (nginx's proxy by default) gets a body that ends with
  // the connection; each "chunk" is then one write.
  http::response<http::empty_body> head{http::status::ok, chunked ? 11 : 10};
  head.set(http::field::content_type, std::string(format.content_type()));
  if (net::is_sse(r.api)) head.set(http::field::cache_control, "no-cache");
  if (chunked) head.chunked(true);
  else head.set(http::field::connection, "close");
  r.headers_ns = monotonic_ns();
  if (!send(net::header_text(head.base()))) return false;

  r.intended_ns.assign(p.tokens, 0);
  r.sent_ns.assign(p.tokens, 0);
  std::int64_t start = monotonic_ns() + std::int64_t(p.first_token_delay_ms * 1e6);
  const bool paced = p.rate_tps > 0;
  ArrivalSchedule schedule(p.arrival, paced ? p.rate_tps : 1, p.burstiness, p.seed, start);
  if (!paced && !sleep_until(start, stop_)) return false;
  std::string text, lines;
  auto send_chunk = [&](std::string_view data) {
    ++r.chunks_sent;
    return send(chunked ? net::chunk(data) : std::string(data));
  };
  const std::uint32_t per_chunk = std::max<std::uint32_t>(1, p.tokens_per_chunk);
  // Sends the lines gathered so far: one chunk, or each line as two chunks.
  auto flush = [&]() {
    if (lines.empty()) return true;
    if (p.split_lines || p.split_utf8) {
      std::size_t at = 0;
      const std::string_view terminator = format.terminator();
      while (at < lines.size()) {
        const std::size_t end = lines.find(terminator, at) + terminator.size();
        const std::string_view line(lines.data() + at, end - at);
        std::size_t cut = line.size() / 2;
        if (p.split_utf8) {
          const std::size_t mb = multibyte_offset(line);
          if (mb != std::string_view::npos) cut = mb + 1;  // between the character's two bytes
        }
        if (!send_chunk(line.substr(0, cut))) return false;
        // The two halves must reach the conductor as two reads for a
        // per-chunk decoder to see the split: a short pause separates them.
        if (p.split_utf8) sleep_until(monotonic_ns() + 200'000, stop_);
        if (!send_chunk(line.substr(cut))) return false;
        at = end;
      }
    } else if (!send_chunk(lines)) {
      return false;
    }
    lines.clear();
    return true;
  };
  std::uint64_t in_chunk = 0;
  for (std::uint64_t seq = 0; seq < p.tokens; ++seq) {
    if (p.reset_at > 0 && seq == p.reset_at) {
      if (!flush()) return false;
      r.end_ns = monotonic_ns();
      return false;  // the caller resets the connection
    }
    if (p.error_line_at > 0 && seq == p.error_line_at) {
      format.error(lines);
      if (!flush() || (chunked && !send(net::last_chunk()))) return false;
      r.end_ns = monotonic_ns();
      r.completed = true;
      return chunked;
    }
    const std::int64_t due = paced ? schedule.next() : 0;
    if (paced && !sleep_until(due, stop_)) return false;
    token_text(r.first_seq + seq, p.size, p.split_utf8, text);
    format.token(text, lines);
    const std::int64_t now = monotonic_ns();
    r.intended_ns[seq] = paced ? due : now;
    r.sent_ns[seq] = now;
    if (++in_chunk >= per_chunk || seq + 1 == p.tokens) {
      if (!flush()) return false;
      in_chunk = 0;
      // Counted once on the wire: a chunk that could not be written holds tokens never sent.
      tokens_sent_.fetch_add(seq + 1 - r.tokens_sent, std::memory_order_relaxed);
      r.tokens_sent = seq + 1;
      last_activity_ns_.store(now, std::memory_order_relaxed);
    }
  }
  if (!p.eof_without_done) format.done(lines);
  const bool ok = flush() && (!chunked || send(net::last_chunk()));
  r.end_ns = monotonic_ns();
  r.completed = ok;
  return ok && !p.eof_without_done && chunked;
}

}  // namespace aiway
