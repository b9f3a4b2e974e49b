#include "reference_conductor/reference_conductor.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "measure/clock.hpp"
#include "net/http.hpp"
#include "stages/command_parser.hpp"
#include "stages/transcript.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace aiway {

void ReferenceConductorOptions::set_legacy() {
  lossy_queue = broadcast_acks = preempt_silently = wedge_on_bad_frame = true;
  hang_on_empty_answer = hold_events_for_headers = busy_poll = shared_rate_limit = chunk_utf8 = frame_per_write = true;
  upstream_deadline_ms = 30'000;
}

namespace {

const char* env_first(const char* a, const char* b) {
  if (const char* v = std::getenv(a)) return v;
  return std::getenv(b);
}

// A whole number from min to max; strtoull alone would take "-1" as 2^64 - 1.
std::uint64_t env_number(const char* name, std::uint64_t fallback, std::uint64_t min, std::uint64_t max) {
  const char* v = std::getenv(name);
  if (!v) return fallback;
  std::uint64_t n = 0;
  const char* last = v + std::strlen(v);
  const auto [end, ec] = std::from_chars(v, last, n);
  if (ec != std::errc() || end != last || end == v || n < min || n > max)
    throw std::invalid_argument(fmt::format("{}={}: expected a whole number from {} to {}", name, v, min, max));
  return n;
}

}  // namespace

void ReferenceConductorOptions::read_environment() {
  if (const char* host = env_first("OLLAMA_HOST", "YOLLAYAH_OLLAMA_HOST")) upstream_host = host;
  if (const char* port = env_first("OLLAMA_PORT", "YOLLAYAH_OLLAMA_PORT")) {
    char* end = nullptr;
    const long p = std::strtol(port, &end, 10);
    if (end == port || *end != '\0' || p <= 0 || p > 65535)
      throw std::invalid_argument(fmt::format("OLLAMA_PORT={}: expected a port number", port));
    upstream_port = std::uint16_t(p);
  }
  if (const char* model_name = std::getenv("YOLLAYAH_MODEL")) model = model_name;
  max_messages_per_minute =
      std::uint32_t(env_number("CONDUCTOR_MAX_MESSAGES_PER_MINUTE", max_messages_per_minute, 1, 0xffffffffu));
  max_message_bytes = env_number("CONDUCTOR_MAX_MESSAGE_SIZE", max_message_bytes, 1, std::uint64_t(1) << 30);
}

namespace {

using wire::SurfaceEvent;
constexpr double kWaitSliceMs = 50;
constexpr std::size_t kMaxConnections = 100;
constexpr double kConnectTimeoutMs = 5000;
// How long a direct reply waits for room in a surface's outbox before that
// surface is dropped as one that does not read.
constexpr double kReplyWaitMs = 2000;
// How long a token waits for room at one surface before that surface is
// dropped: far beyond a reader's pause the scenarios plan (aiway-reader-stall: 5 s).
constexpr double kBroadcastWaitMs = 30000;
constexpr std::size_t kHistoryMessages = 10;  // earlier session messages in a prompt, as ai-way

// A surface's queue of encoded frames. Blocking (backpressure) or lossy
// (ai-way's try_send), and closable so its writer ends.
class Outbox {
 public:
  explicit Outbox(std::size_t capacity) : capacity_(capacity) {}
  enum class Pushed { queued, dropped, closed, timed_out };
  // Queued, or why not: dropped (lossy, or cancelled), closed, or no room
  // came within wait_ms (when positive).
  Pushed push(std::string frame, bool lossy, const std::atomic<bool>* cancel, double wait_ms = 0) {
    std::unique_lock lock(mutex_);
    const std::int64_t deadline = wait_ms > 0 ? monotonic_ns() + std::int64_t(wait_ms * 1e6) : 0;
    while (!closed_ && items_.size() >= capacity_) {
      if (lossy || (cancel && cancel->load())) {
        ++dropped_;
        return Pushed::dropped;
      }
      if (deadline && monotonic_ns() >= deadline) return Pushed::timed_out;
      room_.wait_for(lock, std::chrono::milliseconds(int(kWaitSliceMs)));
    }
    if (closed_) return Pushed::closed;
    items_.push_back(std::move(frame));
    ready_.notify_one();
    return Pushed::queued;
  }
  // Everything queued, concatenated (or only the oldest message); false
  // once closed and empty.
  bool pop(std::string& out, bool one) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    out.clear();
    if (one) {
      out.swap(items_.front());
      items_.pop_front();
    } else {
      for (auto& item : items_) out += item;
      items_.clear();
    }
    room_.notify_all();
    return true;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<std::string> items_;
  std::size_t capacity_;
  std::uint64_t dropped_ = 0;
  bool closed_ = false;
};

struct Connection {
  Connection(std::uint64_t id, net::Fd fd, std::size_t queue) : id(id), fd(std::move(fd)), outbox(queue) {}
  std::uint64_t id;
  net::Fd fd;
  Outbox outbox;
  std::thread reader, writer;
  std::deque<std::int64_t> recent_messages;  // rate limit: when its last messages came (event loop only)
};

struct Event {
  std::uint64_t connection = 0;
  bool gone = false;            // the connection ended
  std::string undecodable;      // the frame could not be decoded: why
  SurfaceEvent event;
};

// An answer being read from the upstream.
struct UpstreamAnswer {
  net::Fd fd;
  std::string pending;
  std::unique_ptr<net::http::response_parser<net::http::string_body>> parser;
  std::string error;  // could not be started: why (no stream exists yet)
};

class Conductor {
 public:
  Conductor(const ReferenceConductorOptions& options, const std::atomic<bool>& stop)
      : o_(options), stop_(stop), listener_(net::listen_unix(options.socket, 128)),
        socket_id_(net::socket_file_id(options.socket)) {}

  void run() {
    std::thread acceptor([this] { accept_loop(); });
    std::thread poller;
    if (o_.busy_poll) poller = std::thread([this] {
        // ai-way's token forwarder: a loop that yields instead of waiting.
        while (!stop_.load(std::memory_order_relaxed)) sched_yield();
      });
    event_loop();
    acceptor.join();
    if (poller.joinable()) poller.join();
    cancel_stream(false);
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(connections_mutex_);
      all.swap(connections_);
    }
    for (auto& c : all) close_connection(*c);
    net::remove_socket_file(o_.socket, socket_id_);  // ours only: never a socket bound there since
  }

 private:
  // --- connections -----------------------------------------------------------
  void accept_loop() {
    std::uint64_t next_id = 1;
    while (!stop_) {
      net::Fd fd = net::accept_within(listener_.get(), 0, &stop_);
      if (!fd) continue;
      const unsigned uid = net::peer_uid(fd.get());
      std::lock_guard lock(connections_mutex_);
      if ((uid != ::geteuid() && uid != 0) || connections_.size() >= kMaxConnections) continue;  // closed silently
      auto c = std::make_shared<Connection>(next_id++, std::move(fd), o_.surface_queue);
      c->writer = std::thread([this, c] { write_loop(*c); });
      c->reader = std::thread([this, c] { read_loop(*c); });
      connections_.push_back(std::move(c));
    }
  }

  void write_loop(Connection& c) {
    std::string batch;
    while (c.outbox.pop(batch, o_.frame_per_write))
      if (net::send_all(c.fd.get(), batch, 0, &stop_) != net::IoStatus::ok) break;
    // A peer that is gone takes nothing more: its outbox refuses at once, so
    // no one waits for room in it, and its reader ends.
    drop_peer(c);
  }

  // Ends a connection from the conductor's side without waiting for anyone:
  // the outbox refuses, the socket shuts, and the reader's end removes it.
  static void drop_peer(Connection& c) {
    c.outbox.close();
    ::shutdown(c.fd.get(), SHUT_RDWR);
  }

  void read_loop(Connection& c) {
    wire::FrameDecoder decoder;
    char buffer[64 * 1024];
    bool wedged = false;
    for (;;) {
      std::size_t got = 0;
      if (net::receive_some(c.fd.get(), buffer, sizeof buffer, got, 0, &stop_) != net::IoStatus::ok) break;
      if (wedged) continue;  // ai-way retries the frame it cannot decode for ever: nothing after it is read
      decoder.feed(buffer, got);
      for (;;) {
        const auto status = decoder.next();
        if (status == wire::FrameDecoder::Status::need_more) break;
        Event e;
        e.connection = c.id;
        if (status == wire::FrameDecoder::Status::frame) {
          if (!wire::parse_surface_event(decoder.payload(), e.event)) e.undecodable = "not an event ai-way knows";
        } else {
          e.undecodable = status == wire::FrameDecoder::Status::bad_crc ? "bad CRC" : "length over 10 MiB";
        }
        if (!e.undecodable.empty() && o_.wedge_on_bad_frame) {
          wedged = true;
          break;
        }
        const bool fatal = status == wire::FrameDecoder::Status::too_long;
        push_event(std::move(e));
        if (fatal) break;
      }
      if (decoder.broken() && !o_.wedge_on_bad_frame) break;  // cannot follow the stream any more
    }
    Event gone;
    gone.connection = c.id;
    gone.gone = true;
    push_event(std::move(gone));
  }

  void close_connection(Connection& c) {
    c.outbox.close();
    ::shutdown(c.fd.get(), SHUT_RDWR);
    if (c.writer.joinable()) c.writer.join();
    if (c.reader.joinable()) c.reader.join();
  }

  std::shared_ptr<Connection> find(std::uint64_t id) {
    std::lock_guard lock(connections_mutex_);
    for (auto& c : connections_)
      if (c->id == id) return c;
    return nullptr;
  }

  void remove(std::uint64_t id) {
    std::shared_ptr<Connection> c;
    {
      std::lock_guard lock(connections_mutex_);
      const auto it = std::find_if(connections_.begin(), connections_.end(), [&](const auto& x) { return x->id == id; });
      if (it == connections_.end()) return;
      c = *it;
      connections_.erase(it);
    }
    close_connection(*c);
  }

  // To every surface: queued in order; lossy in legacy mode.
  void broadcast(const std::string& json, const std::atomic<bool>* cancel = nullptr) {
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(connections_mutex_);
      all = connections_;
    }
    const std::string framed = wire::frame(json);
    // Backpressure: a surface that reads slowly slows the stream (nothing is
    // lost); one that has read nothing for kBroadcastWaitMs is dropped.
    for (auto& c : all)
      if (c->outbox.push(framed, o_.lossy_queue, cancel, kBroadcastWaitMs) == Outbox::Pushed::timed_out) drop_peer(*c);
  }
  // A direct reply waits for room, as ai-way's do, but never for long: a
  // peer that asks and does not read would hold the one event loop, and
  // every other surface with it. It is dropped instead.
  void reply(std::uint64_t connection, const std::string& json) {
    if (auto c = find(connection); c && c->outbox.push(wire::frame(json), false, &stop_, kReplyWaitMs) == Outbox::Pushed::timed_out)
      drop_peer(*c);
  }
  void ack(std::uint64_t connection, const SurfaceEvent& e, bool to_sender_only) {
    if (o_.broadcast_acks && !to_sender_only) broadcast(wire::ack_message(e.event_id));
    else reply(connection, wire::ack_message(e.event_id));
  }

  // --- events ----------------------------------------------------------------
  void push_event(Event e) {
    std::lock_guard lock(events_mutex_);
    events_.push_back(std::move(e));
    events_ready_.notify_one();
  }

  void event_loop() {
    while (!stop_) {
      Event e;
      {
        std::unique_lock lock(events_mutex_);
        events_ready_.wait_for(lock, std::chrono::milliseconds(int(kWaitSliceMs)), [&] { return !events_.empty(); });
        if (events_.empty()) continue;
        e = std::move(events_.front());
        events_.pop_front();
      }
      handle(e);
    }
  }

  void handle(const Event& e) {
    if (e.gone) return remove(e.connection);
    if (!e.undecodable.empty()) {
      reply(e.connection, wire::notify_message("Warning", fmt::format("an undecodable frame was skipped: {}", e.undecodable)));
      return;
    }
    const SurfaceEvent& ev = e.event;
    switch (ev.kind) {
      case SurfaceEvent::Kind::handshake:
        if (ev.protocol_version != 1) {
          reply(e.connection, wire::handshake_ack_message("", false, "unsupported protocol version"));
          return;
        }
        reply(e.connection, wire::handshake_ack_message(fmt::format("conn-{}", e.connection), true, ""));
        ack(e.connection, ev, true);
        reply(e.connection, wire::state_message(state_.load()));
        reply(e.connection, R"({"SessionInfo":{"session_id":"reference","model":"yollayah"}})");
        return;
      case SurfaceEvent::Kind::connected:
        ack(e.connection, ev, true);
        reply(e.connection, wire::state_message(state_.load()));
        reply(e.connection, R"({"SessionInfo":{"session_id":"reference","model":"yollayah"}})");
        reply(e.connection, wire::chat_message("msg_0", "System", "The reference conductor is ready.", "System"));
        return;
      case SurfaceEvent::Kind::user_message: return user_message(e.connection, ev);
      case SurfaceEvent::Kind::quit_requested: return quit(e.connection, ev);
      case SurfaceEvent::Kind::user_command:
        if (ev.content == "quit" || ev.content == "exit") return quit(e.connection, ev);
        ack(e.connection, ev, false);
        reply(e.connection, wire::notify_message("Info", fmt::format("command {}", ev.content)));
        return;
      case SurfaceEvent::Kind::disconnected:
        ack(e.connection, ev, true);
        if (auto c = find(e.connection)) ::shutdown(c->fd.get(), SHUT_RD);  // the reader ends; the connection goes
        return;
      case SurfaceEvent::Kind::other: ack(e.connection, ev, false); return;
    }
  }

  void quit(std::uint64_t connection, const SurfaceEvent& ev) {
    ack(connection, ev, false);
    broadcast(wire::state_message("ShuttingDown"));
    broadcast(wire::quit_message());
  }

  bool over_rate_limit(std::uint64_t connection) {
    std::deque<std::int64_t>* recent = &shared_recent_;
    std::shared_ptr<Connection> c;
    if (!o_.shared_rate_limit) {
      c = find(connection);
      if (!c) return true;
      recent = &c->recent_messages;
    }
    const std::int64_t now = monotonic_ns();
    while (!recent->empty() && now - recent->front() > 60'000'000'000) recent->pop_front();
    if (recent->size() >= o_.max_messages_per_minute) return true;
    recent->push_back(now);
    return false;
  }

  void user_message(std::uint64_t connection, const SurfaceEvent& ev) {
    const bool control = std::any_of(ev.content.begin(), ev.content.end(), [](char ch) {
      return (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7F;
    });
    std::string refused;
    if (ev.content.size() > o_.max_message_bytes) refused = "the message is too long";
    else if (control) refused = "the message holds control characters";
    else if (over_rate_limit(connection)) refused = "too many messages: wait a minute";
    if (!refused.empty()) {
      ack(connection, ev, false);
      reply(connection, wire::notify_message("Warning", refused));
      return;
    }
    ack(connection, ev, false);
    const std::uint64_t user_id = next_message_id_++;
    const std::uint64_t reply_id = next_message_id_++;
    broadcast(wire::chat_message(fmt::format("msg_{}", user_id), "User", ev.content, "Plain"));
    cancel_stream(!o_.preempt_silently);
    set_state("Thinking");
    const std::string prompt = make_prompt(ev.content);
    history_push("User", ev.content);
    auto run = std::make_unique<StreamRun>();
    run->id = fmt::format("msg_{}", reply_id);
    StreamRun* r = run.get();
    if (o_.hold_events_for_headers) {
      // ai-way awaits the response headers inside its event handler.
      r->answer = open_answer(prompt, &r->cancel);
      r->opened = true;
    }
    run->thread = std::thread([this, r, prompt] { stream(*r, prompt); });
    stream_ = std::move(run);
  }

  std::string make_prompt(const std::string& content) {
    std::lock_guard lock(history_mutex_);
    std::string prompt;
    const std::size_t first = history_.size() > kHistoryMessages ? history_.size() - kHistoryMessages : 0;
    for (std::size_t i = first; i < history_.size(); ++i) prompt += fmt::format("{}: {}\n\n", history_[i].first, history_[i].second);
    prompt += "\n" + content;
    return prompt;
  }

  void set_state(const char* state) {
    state_ = state;
    broadcast(wire::state_message(state));
  }

  // --- the stream ------------------------------------------------------------
  struct StreamRun {
    std::string id;
    std::atomic<bool> cancel{false};
    bool opened = false;
    UpstreamAnswer answer;
    std::thread thread;
  };

  // Ends the running stream. announce: tell the surfaces it ended (a correct
  // conductor never abandons a stream silently).
  void cancel_stream(bool announce) {
    if (!stream_) return;
    stream_->cancel = true;
    stream_->thread.join();
    if (announce && !stream_finished_) {
      broadcast(wire::stream_error_message(stream_->id, "superseded by a new message"));
    }
    stream_.reset();
  }

  UpstreamAnswer open_answer(const std::string& prompt, const std::atomic<bool>* cancel) {
    namespace http = net::http;
    UpstreamAnswer a;
    a.fd = net::connect_tcp(o_.upstream_host, o_.upstream_port, kConnectTimeoutMs);
    if (!a.fd) {
      a.error = fmt::format("cannot connect to {}:{}: {}", o_.upstream_host, o_.upstream_port, std::strerror(errno));
      return a;
    }
    http::request<http::string_body> req{http::verb::post, "/api/generate", 11};
    req.set(http::field::host, fmt::format("{}:{}", o_.upstream_host, o_.upstream_port));
    req.set(http::field::content_type, "application/json");
    req.body() = nlohmann::json{{"model", o_.model}, {"prompt", prompt}, {"stream", true}}.dump();
    req.prepare_payload();
    std::ostringstream out;
    out << req;
    if (net::send_all(a.fd.get(), out.str(), kConnectTimeoutMs, cancel) != net::IoStatus::ok) {
      a.error = "cannot send the request";
      return a;
    }
    a.parser = std::make_unique<http::response_parser<http::string_body>>();
    a.parser->eager(true);
    a.parser->body_limit(boost::none);
    boost::beast::error_code ec;
    const net::IoStatus s = net::read_http(a.fd.get(), *a.parser, a.pending, true, 0, cancel, ec);
    if (s != net::IoStatus::ok) a.error = fmt::format("no response headers ({})", ec ? ec.message() : std::string(to_string(s)));
    return a;
  }

  // Replaces what is not valid UTF-8 in one read by U+FFFD: ai-way decodes
  // each chunk on its own, so a character split between chunks is lost.
  static void decode_chunk_lossy(std::string& bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size();) {
      const auto c = static_cast<unsigned char>(bytes[i]);
      const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      bool ok = len > 0 && i + len <= bytes.size();
      for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(bytes[i + k]) >> 6) == 2;
      if (ok) {
        out.append(bytes, i, len);
        i += len;
      } else {
        out.append("\xEF\xBF\xBD");
        ++i;
      }
    }
    bytes.swap(out);
  }

  void stream(StreamRun& r, const std::string& prompt) {
    const std::int64_t started = monotonic_ns();
    const std::atomic<bool>* cancel = &r.cancel;
    if (!r.opened) r.answer = open_answer(prompt, cancel);
    if (r.cancel) return;
    UpstreamAnswer& a = r.answer;
    stream_finished_ = false;
    auto end_with = [&](std::vector<std::string> messages) {
      for (const auto& m : messages) broadcast(m, cancel);
      state_ = "Ready";
      broadcast(wire::state_message("Ready"), cancel);
      stream_finished_ = true;
    };
    if (!a.error.empty()) return end_with({wire::notify_message("Error", fmt::format("Failed to send message: {}", a.error))});
    auto& res = a.parser->get();
    if (res.result_int() < 200 || res.result_int() >= 300) {
      boost::beast::error_code ec;
      net::read_http(a.fd.get(), *a.parser, a.pending, false, kConnectTimeoutMs, cancel, ec);
      return end_with({wire::notify_message(
          "Error", fmt::format("Failed to send message: HTTP {}: {}", res.result_int(), std::string(res.body())))});
    }
    state_ = "Responding";
    broadcast(wire::state_message("Responding"), cancel);

    CommandParser commands;
    std::string lines, clean, raw, framed;
    std::uint64_t token_count = 0;
    bool done = false;
    const std::int64_t deadline = o_.upstream_deadline_ms > 0 ? started + std::int64_t(o_.upstream_deadline_ms * 1e6) : 0;
    auto fail = [&](const std::string& why) {
      end_with({wire::stream_error_message(r.id, why), wire::notify_message("Error", why)});
    };
    auto send_token = [&](std::string_view text) {
      framed.clear();
      wire::append_token_message(framed, r.id, text);
      broadcast(framed, cancel);
    };
    // One NDJSON line: one Token, in order, never merged or split.
    auto line = [&](std::string_view l) {
      while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.remove_suffix(1);
      while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
      if (l.empty()) return true;
      const auto j = nlohmann::json::parse(l, nullptr, false);
      if (!j.is_object()) return true;  // not JSON: skipped, as ai-way does
      if (j.contains("error") && !j.contains("response")) {
        fail(fmt::format("the upstream reported an error: {}", j["error"].dump()));
        return false;
      }
      const auto it = j.find("response");
      const std::string text = it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
      ++token_count;
      raw += text;
      clean.clear();
      const bool unchanged = commands.feed(text, clean, [&](const AvatarCommand& cmd) {
        broadcast(wire::avatar_command_message(cmd.name, cmd.args), cancel);
      });
      const bool is_done = j.value("done", false);
      if (is_done) commands.flush(clean);
      send_token(unchanged ? std::string_view(text) : std::string_view(clean));
      if (is_done) done = true;
      return !is_done;
    };
    char buffer[64 * 1024];
    boost::beast::error_code ec;
    std::string ended;  // how the body ended early, if it did
    while (!done && !r.cancel) {
      net::put_pending(*a.parser, a.pending, ec);
      std::string& body = a.parser->get().body();
      if (!body.empty()) {
        if (o_.chunk_utf8) decode_chunk_lossy(body);
        lines += body;
        body.clear();
        std::size_t at = 0;
        for (std::size_t nl; !done && (nl = lines.find('\n', at)) != std::string::npos; at = nl + 1)
          if (!line(std::string_view(lines).substr(at, nl - at))) {
            if (!done) return;  // failed
          }
        lines.erase(0, at);
      }
      if (done) break;
      if (ec) {
        ended = ec.message();
        break;
      }
      if (a.parser->is_done()) break;
      if (deadline > 0 && monotonic_ns() >= deadline) {
        fail(fmt::format("the upstream request took longer than {} ms", o_.upstream_deadline_ms));
        return;
      }
      std::size_t got = 0;
      const double wait = deadline > 0 ? std::max(1.0, double(deadline - monotonic_ns()) / 1e6) : 0;
      const net::IoStatus s = net::receive_some(a.fd.get(), buffer, sizeof buffer, got, wait, cancel);
      if (s == net::IoStatus::ok) {
        a.pending.append(buffer, got);
      } else if (s == net::IoStatus::timeout) {
        continue;  // the deadline check above ends it
      } else if (s == net::IoStatus::stopped) {
        return;
      } else {
        ended = std::string(to_string(s));
        break;
      }
    }
    if (r.cancel) return;
    if (!done && !lines.empty() && !line(lines) && !done) return;  // a last line without its newline
    if (done || (ended.empty() && token_count > 0)) {
      // EOF without done ends normally once something came, as ai-way's does.
      end_with({wire::stream_end_message(r.id, raw, token_count, std::uint64_t((monotonic_ns() - started) / 1'000'000))});
      history_push("Assistant", raw);
      return;
    }
    if (!ended.empty() && token_count > 0) return fail(fmt::format("the upstream connection ended mid-stream: {}", ended));
    if (o_.hang_on_empty_answer) return;  // ai-way sends nothing and stays Responding
    fail("the upstream ended without an answer");
  }

  void history_push(const char* role, const std::string& content) {
    std::lock_guard lock(history_mutex_);
    transcript_.append(content);
    transcript_.end_message();
    history_.emplace_back(role, content);
  }

  const ReferenceConductorOptions& o_;
  const std::atomic<bool>& stop_;
  net::Fd listener_;
  net::SocketFileId socket_id_;
  std::mutex connections_mutex_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::mutex events_mutex_;
  std::condition_variable events_ready_;
  std::deque<Event> events_;
  std::deque<std::int64_t> shared_recent_;
  std::uint64_t next_message_id_ = 1;
  std::atomic<const char*> state_{"Ready"};  // written by the event loop and the stream; read for replies
  std::atomic<bool> stream_finished_{true};
  std::unique_ptr<StreamRun> stream_;
  std::mutex history_mutex_;  // the event loop builds prompts, the stream adds replies
  std::vector<std::pair<std::string, std::string>> history_;
  Transcript transcript_{10ull << 20};
};

}  // namespace

void run_reference_conductor(const ReferenceConductorOptions& options, const std::atomic<bool>& stop) {
  Conductor conductor(options, stop);
  conductor.run();
}

}  // namespace aiway
